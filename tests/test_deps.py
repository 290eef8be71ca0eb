from lnpaper.deps import module_files


def test_module_files_follow_relative_imports_transitively():
    files = {p.rsplit("/", 1)[1] for p in module_files("matmul")}
    # matmul imports theory, seeding, stats; nothing imports the tracking module
    assert {"matmul.py", "theory.py", "seeding.py", "stats.py"} <= files
    assert "tracking.py" not in files


def test_lazy_imports_inside_functions_count_too():
    files = {p.rsplit("/", 1)[1] for p in module_files("step")}
    assert "runtime.py" in files  # imported inside run_step
