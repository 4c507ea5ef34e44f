"""burns_cpu.py: spins on the CPU for ever."""

print("spinning", flush=True)
while True:
    pass
