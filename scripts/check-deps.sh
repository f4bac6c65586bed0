#!/usr/bin/env bash
# Hold the code to the dependency rules ARCHITECTURE.md states: which folder
# may include which, which third-party headers live where, and which
# libraries each folder's CMakeLists links. Run by CI (scripts/test.sh).
#
#   scripts/check-deps.sh [ROOT]     ROOT defaults to this repository
#
# Prints one line per violation ("src/net/x.cpp:12: net may not include
# <source/job.hpp>") and exits 1 if there is any. A folder that is not in the
# table below is itself a violation: a new folder states its place first.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
exec "${PYTHON:-python3}" - "$root" <<'PY'
import os, re, sys

root = sys.argv[1]

# Folder -> project folders it may include (besides itself). "store-api" is
# the store seen from outside: the headers below, linked as cf_store_api.
# Direction: app -> web/net/forward/source/media -> store -> dicom -> core.
STORE_API = {"store/ingest.hpp", "store/query.hpp", "store/find.hpp", "store/errors.hpp"}
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "http": {"core"},
    "dicom": {"core"},
    "store": {"core", "dicom"},
    "net": {"core", "dicom", "store-api"},
    "source": {"core", "http", "store-api"},
    "media": {"core", "http", "dicom", "store-api"},
    "forward": {"core", "dicom", "net", "store-api"},
    "web": {"core", "config", "http", "dicom", "store-api", "source", "media", "forward"},
    "app": {"*"},
    # modules/<platform>: the framework below them, never net, forward,
    # app, web, the store's implementation or another module.
    "module": {"core", "http", "dicom", "source"},
    # modules/register.cpp and registry.hpp: the one place that sees all modules.
    "modules": {"core", "source", "module:*"},
}
PROJECT = {"core", "config", "http", "dicom", "store", "net", "source", "media", "forward",
           "web", "app"}

# Third-party headers -> the folders allowed to include them.
THIRD_PARTY = [
    (r"dcmtk/", {"dicom", "net"}, "DCMTK types stay in dicom/ and net/"),
    (r"openjpeg", {"dicom"}, "OpenJPEG is dicom/'s codec"),
    (r"curl/", {"http"}, "libcurl is behind http::Client"),
    (r"boost/beast", {"web", "module:szjudianyun"},
     "Beast is heavy: web/ (and szjudianyun's WebSocket client) only"),
    (r"sqlite3", {"core"}, "SQLite is behind core::sqlite"),
    (r"yaml-cpp/", {"config"}, "YAML is config/'s"),
    (r"archive", {"media"}, "libarchive reads zips in media/"),
    (r"systemd/", {"app"}, "sd_notify belongs to the daemon"),
]

# Folder -> cf_* libraries its CMakeLists may link.
LIB_OF = {"cf_core": "core", "cf_config": "config", "cf_http": "http", "cf_dicom": "dicom",
          "cf_store_api": "store-api", "cf_store": "store", "cf_net": "net",
          "cf_source": "source", "cf_media": "media", "cf_forward": "forward", "cf_web": "web",
          "cf_app": "app", "cf_modules": "modules"}
ALWAYS_LINKABLE = {"cf_settings", "cf_warnings"}

violations = []


def owner(rel):
    """The rule set a file belongs to: ('net', None) or ('module', 'hinacom')."""
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return parts[1], None
    if parts[0] == "modules":
        if len(parts) == 2:
            return "modules", None
        return "module", parts[1]
    return None, None


def allowed_project(folder, module, header):
    first = header.split("/")[0]
    rules = ALLOWED.get(folder)
    if rules is None:
        return False
    if "*" in rules:
        return True
    if folder == "module" and first == module:
        return True
    if first == folder and folder != "module":
        return True
    if header in STORE_API and "store-api" in rules:
        return True
    if first in PROJECT:
        return first in rules
    # <platform/...>: a module's header
    if folder == "modules":
        return True
    return False


include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
modules_dir = os.path.join(root, "modules")
module_names = {d for d in os.listdir(modules_dir)
                if os.path.isdir(os.path.join(modules_dir, d))} if os.path.isdir(modules_dir) else set()

for top in ("src", "modules"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith((".cpp", ".hpp", ".h", ".cc")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            folder, module = owner(rel)
            if folder is None:
                continue
            if folder not in ALLOWED:
                violations.append(f"{rel}: folder '{folder}' has no place in check-deps' table")
                continue
            me = f"module:{module}" if folder == "module" else folder
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = include_re.match(line)
                    if not m:
                        continue
                    kind, header = m.groups()
                    where = f"{rel}:{lineno}"
                    if kind == '"':
                        if ".." in header.split("/"):
                            violations.append(f"{where}: relative include \"{header}\" leaves its folder; "
                                              "use <folder/header.hpp>")
                        continue
                    for pattern, who, why in THIRD_PARTY:
                        if header.startswith(pattern):
                            if me not in who and folder not in who:
                                violations.append(f"{where}: {me} may not include <{header}> ({why})")
                            break
                    else:
                        first = header.split("/")[0]
                        if "/" not in header:
                            continue  # standard or third-party header
                        if first in PROJECT or first in module_names:
                            if first in module_names and folder == "module" and first != module:
                                violations.append(f"{where}: module {module} may not include another "
                                                  f"module's <{header}>")
                            elif first in module_names and folder not in ("modules", "module", "app"):
                                violations.append(f"{where}: {folder} may not include the module header "
                                                  f"<{header}>")
                            elif first in PROJECT and not allowed_project(folder, module, header):
                                extra = " (outside the store API: ingest/query/find/errors)" \
                                    if first == "store" else ""
                                violations.append(f"{where}: {me} may not include <{header}>{extra}")

# Link rules: every cf_* a folder's CMakeLists links must be allowed.
link_re = re.compile(r"target_link_libraries\s*\(\s*(\S+)([^)]*)\)", re.S)
for top in ("src", "modules"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        if "CMakeLists.txt" not in filenames:
            continue
        rel = os.path.relpath(os.path.join(dirpath, "CMakeLists.txt"), root)
        folder, module = owner(rel)
        if folder is None or folder not in ALLOWED:
            continue
        rules = ALLOWED[folder]
        text = open(os.path.join(dirpath, "CMakeLists.txt"), encoding="utf-8").read()
        for m in link_re.finditer(text):
            for lib in re.findall(r"\bcf_[a-z0-9_]+\b", m.group(2)):
                if lib in ALWAYS_LINKABLE or "*" in rules:
                    continue
                if lib.startswith("cf_mod_"):
                    if folder != "modules" and folder != "app":
                        violations.append(f"{rel}: {folder} may not link module {lib}")
                    continue
                target = LIB_OF.get(lib)
                if target is None:
                    continue
                if target == folder or (target == "store-api" and folder == "store"):
                    continue
                if target not in rules:
                    violations.append(f"{rel}: {folder if folder != 'module' else 'module ' + module} "
                                      f"may not link {lib}")
        # DCMTK libraries follow the header rule.
        for dep in re.findall(r"\bdep_dcm[a-z]+\b", text):
            if folder not in ("dicom", "net"):
                violations.append(f"{rel}: {folder} may not link {dep} (DCMTK stays in dicom/ and net/)")

for v in violations:
    print(v)
if violations:
    print(f"check-deps: {len(violations)} violation(s); the rules are in scripts/check-deps.sh "
          "and ARCHITECTURE.md", file=sys.stderr)
    sys.exit(1)
print("check-deps: include and link rules hold")
PY
