"""What goes into the PyInstaller bundle: excluded modules, kept Qt plugins, dropped libraries (biometrix.spec).

Plain Python, so that packaging/biometrix.spec, packaging/bundle_check.py and the tests share one list.
"""

from __future__ import annotations

import os
import re

# Nothing here is imported at run time (ARCHITECTURE.md: a kiosk install has no torch in it). Listed so that an
# optional import somewhere in a dependency cannot pull them in from a build environment that happens to have them.
EXCLUDES = [
    "torch", "torchvision", "torchaudio", "functorch", "triton", "facenet_pytorch",
    "biometrix.training",
    "matplotlib", "sklearn", "scipy", "pandas", "threadpoolctl", "joblib",
    "dlib", "face_recognition_models", "face_recognition",
    "onnx", "onnxscript", "onnx_ir", "ml_dtypes",
    "pytest", "_pytest", "pytestqt", "hypothesis", "mypy", "ruff", "importlinter",
    "tkinter", "_tkinter", "IPython", "jupyter_client", "notebook",
    "setuptools", "pkg_resources", "pip", "wheel",
    # Qt modules the app does not use (it imports QtCore, QtGui and QtWidgets only, through biometrix/gui/qt.py)
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets", "PySide6.QtPdf", "PySide6.QtSvg", "PySide6.QtPrintSupport", "PySide6.QtSql",
    "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtUiTools", "PySide6.QtHelp", "PySide6.QtXml",
    "PySide6.QtDBus", "PySide6.QtConcurrent",
    # Pillow only reads image headers here (capture/files.py); OpenCV decodes. Its AVIF plugin (a 5 MB codec
    # library; the bundle's OpenCV cannot decode AVIF anyway), colour management, fonts and Tk are never used.
    "PIL._avif", "PIL.AvifImagePlugin", "PIL._imagingcms", "PIL.ImageCms", "PIL._imagingft", "PIL.ImageFont",
    "PIL._imagingtk", "PIL.ImageTk", "PIL.ImageQt", "PIL.ImageShow", "PIL.ImageGrab",
    # the interactive interpreter's line editing (libreadline, libtinfo)
    "readline",
    # the HTTPS server runs on its own machines (extra 'server'), never from the kiosk bundle; the bundle's client
    # (--server URL) needs httpx only
    "biometrix.server", "fastapi", "uvicorn", "starlette", "pydantic", "pydantic_core", "annotated_doc",
    # the PostgreSQL store's driver (the `postgres` extra): the bank-wide server's, never a kiosk's
    "psycopg", "psycopg_binary", "psycopg_pool", "psycopg_c",
]

# ICU locale data kept in Qt's ICU data library besides root (packaging/icu_trim.py); each language keeps its
# regional variants. Add the languages of a deployment whose collation (locale-aware sorting) must follow them.
ICU_LOCALES = ("en",)

# Qt plugins kept, by folder under PySide6/Qt/plugins and name without "lib" and extension ("*": the whole folder);
# any other folder is left out. platforms: offscreen (self-test, headless), xcb (X11, XWayland), minimal, and windows
# for a Windows build; imageformats: what QImage/QPixmap may meet in the GUI; styles: the Windows native look.
QT_PLUGINS = {
    "platforms": {"qoffscreen", "qxcb", "qminimal", "qwindows"},
    "xcbglintegrations": {"*"},
    "platforminputcontexts": {"composeplatforminputcontextplugin"},
    "imageformats": {"qjpeg", "qgif", "qico"},
    "styles": {"*"},
}
QT_PLUGIN_PATH = re.compile(r"PySide6/Qt/plugins/([^/]+)/([^/]+)$")
# Qt libraries no kept module or plugin needs (PySide6-Essentials ships them; the hooks may still collect some).
QT_LIB_DROP = re.compile(
    r"libQt6(Quick|Qml|Pdf|Network|OpenGL|Svg|Wayland|Designer|Help|UiTools|Test|Sql|PrintSupport|Labs|Lottie"
    r"|ShaderTools|Concurrent|Xml|VirtualKeyboard|EglFS)[A-Za-z0-9]*\.so"
)
# onnxruntime's C-API library (the Python binding carries its own copy of the runtime and never loads it) and, in
# onnxruntime-gpu, the TensorRT provider (runtime/providers.py asks for CUDA and the CPU only).
ORT_DROP = re.compile(r"onnxruntime/capi/(libonnxruntime\.so\.[0-9.]+|libonnxruntime_providers_tensorrt\.so)$")


def wanted_plugin(folder: str, filename: str) -> bool:
    stem = filename.split(".")[0]
    stem = stem[3:] if stem.startswith("lib") else stem
    wanted = QT_PLUGINS.get(folder, set())
    return "*" in wanted or stem in wanted


def keep(dest: str) -> bool:
    """Whether a collected file (its path inside the bundle) stays in the bundle."""
    path = dest.replace(os.sep, "/")
    plugin = QT_PLUGIN_PATH.search(path)
    if plugin:
        return wanted_plugin(*plugin.groups())
    if "PySide6/Qt/translations/" in path or "PySide6/Qt/qml/" in path:
        return False
    if QT_LIB_DROP.match(path.rsplit("/", 1)[-1]):
        return False
    return not ORT_DROP.search(path)


#: Never in a kiosk bundle (ARCHITECTURE.md), as a frozen module or as a file or folder name.
FORBIDDEN_MODULES = re.compile(
    r"^(torch|torchvision|functorch|triton|biometrix\.training|matplotlib|sklearn|scipy|dlib|face_recognition_models"
    r"|onnx|onnxscript|onnx_ir|pytest|_pytest|pytestqt|hypothesis|tkinter|_tkinter|psycopg|psycopg_binary|psycopg_pool"
    r")(\.|$)"
)
FORBIDDEN_FILES = re.compile(r"(^|/)(torch|libtorch[^/]*|functorch|matplotlib|sklearn|dlib[^/]*|_tkinter[^/]*|onnx"
                             r"|onnxscript|pytest|hypothesis|tcl[0-9.]*|tk[0-9.]*|psycopg[^/]*)(/|$)")
