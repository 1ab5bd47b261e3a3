import Torch
print(Runtime.threadCount)
