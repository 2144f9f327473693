"""A grouping function held by a class, named with dots only (``"pkg.mod.Class.method"``,
as ``pkgutil.resolve_name`` takes it): blackbox3 found it refused with "No module named
'pkg.mod.Class'", though ``"pkg.mod:Class.method"`` worked. Typos still say what is wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics._dotted import import_dotted

SOURCE = '''
class Holder:
    @staticmethod
    def grouping(request):
        return {"api_key": "from-holder"}

    class Inner:
        @staticmethod
        def grouping(request):
            return {"api_key": "from-inner"}
'''


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "nestedpkg").mkdir()
    (tmp_path / "nestedpkg" / "__init__.py").write_text("")
    (tmp_path / "nestedpkg" / "hold.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "nestedpkg"
    for name in [name for name in sys.modules if name.startswith("nestedpkg")]:
        del sys.modules[name]


@pytest.mark.parametrize("path, key", [
    ("nestedpkg.hold.Holder.grouping", "from-holder"),
    ("nestedpkg.hold:Holder.grouping", "from-holder"),
    ("nestedpkg.hold.Holder.Inner.grouping", "from-inner"),
])
def test_a_function_held_by_a_class_is_named_with_dots(package, monkeypatch, path, key):
    assert import_dotted(path)(None) == {"api_key": key}
    monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    config = MetricsApiConfig(api_key="rdme_test")
    assert config.grouping_function(None) == {"api_key": key}


@pytest.mark.parametrize("path, error, said", [
    ("nestedpkg.hold.Holder.groupin", AttributeError, "did you mean 'grouping'?"),
    ("nestedpkg.hold.Holdr.grouping", AttributeError, "did you mean 'Holder'?"),
    ("nestedpkg.hol.Holder.grouping", ModuleNotFoundError, "did you mean 'nestedpkg.hold'?"),
    ("nestedpkg.nothing.x", ModuleNotFoundError, "No module named 'nestedpkg.nothing'"),
    ("nestedpkg.hold.Holder.Inner.x.y", AttributeError, "no attribute 'x'"),
])
def test_a_wrong_path_still_says_what_is_wrong(package, path, error, said):
    with pytest.raises(error) as caught:
        import_dotted(path)
    assert said in str(caught.value)
