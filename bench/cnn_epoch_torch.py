"""The same CNN epoch as bench/cnn_epoch_threads.py in PyTorch CPU (optional peer; plain training loop)."""
import time, numpy as np, torch, torch.nn as nn
torch.manual_seed(0)
d=np.load(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "minidl", "datasets", "data", "mnist5k.npz")); x=torch.tensor(d["x"][:2048,None]/255.,dtype=torch.float32); y=torch.tensor(d["y"][:2048].astype(np.int64))
m=nn.Sequential(nn.Conv2d(1,32,3),nn.ReLU(),nn.MaxPool2d(2),nn.Conv2d(32,64,3),nn.ReLU(),nn.MaxPool2d(2),nn.Flatten(),nn.Linear(1600,128),nn.ReLU(),nn.Linear(128,10))
opt=torch.optim.SGD(m.parameters(),lr=0.01,momentum=0.9); lf=nn.CrossEntropyLoss()
def epoch():
    perm=torch.randperm(2048)
    for i in range(0,2048,64):
        idx=perm[i:i+64]; opt.zero_grad(); l=lf(m(x[idx]),y[idx]); l.backward(); opt.step()
epoch(); ts=[]
for _ in range(3):
    t=time.perf_counter(); epoch(); ts.append(time.perf_counter()-t)
print("torch epoch(2048) median %.3f s threads %d" % (sorted(ts)[1], torch.get_num_threads()))
