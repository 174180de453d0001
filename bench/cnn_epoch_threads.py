"""CNN training epoch (Keras MNIST CNN + dense 128, SGD momentum, batch 64, 2,048 embedded MNIST digits).

Run under different threading settings to see the OpenMP spin-wait effect, e.g.
``OMP_WAIT_POLICY=ACTIVE python bench/cnn_epoch_threads.py`` against the default (minidl sets PASSIVE).
"""
import time, numpy as np, minidl
from minidl import layers, models
minidl.utils.set_random_seed(0)
(x,y),_ = minidl.datasets.mnist.load_data()
x = (x[:2048].astype("float32")/255)[...,None]; y = minidl.utils.to_categorical(y[:2048],10)
m = models.Sequential([layers.Input((28,28,1)), layers.Conv2D(32,3,activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(64,3,activation="relu"), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(128,activation="relu"), layers.Dense(10,activation="softmax")])
m.compile(optimizer=minidl.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")
m.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0)
ts=[]
for _ in range(3):
    t=time.perf_counter(); m.fit(x,y,batch_size=64,epochs=1,verbose=0); ts.append(time.perf_counter()-t)
print("epoch(2048 samples) median %.3f s" % sorted(ts)[1])
