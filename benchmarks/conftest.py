# benchmarks/ collects bench_*.py files and bench_* functions
def pytest_configure(config):
    config.addinivalue_line("python_files", "bench_*.py")
    config.addinivalue_line("python_functions", "bench_*")
