"""The app's languages: every user-visible string goes through ``translate`` (Qt's ``QCoreApplication.translate``,
which ``pyside6-lupdate`` extracts into ``translations/biometrix_<lang>.ts``); ``install_language`` loads the compiled
``.qm`` (``packaging/translations.py`` builds it with ``pyside6-lrelease``)."""

from __future__ import annotations

from pathlib import Path

from biometrix.core.errors import InvalidInput

#: Languages the app ships: code -> the language's own name (shown in Settings). English is the source text.
LANGUAGES = {"en": "English", "de": "Deutsch"}
CATALOGUES = Path(__file__).resolve().parent / "translations"


def translate(context: str, text: str) -> str:
    """``text`` in the language installed (itself when none is, or when the catalogue lacks it)."""
    from biometrix.gui.qt import QCoreApplication

    return QCoreApplication.translate(context, text)


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - the name pyside6-lupdate looks for
    """Marks ``text`` for the catalogue where it is defined (a constant); ``translate`` it where it is shown."""
    del context
    return text


def catalogue(language: str) -> Path:
    """The compiled catalogue of ``language`` (InvalidInput: not a language the app ships)."""
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}, got {language!r:.20}")
    return CATALOGUES / f"biometrix_{language}.qm"


def install_language(app: object, language: str) -> object | None:
    """Install ``language``'s catalogue on the running ``app`` (a QCoreApplication); returns the translator (keep
    it to remove it), None for English. A catalogue that is missing or unreadable is an InvalidInput."""
    if language == "en":
        return None
    from biometrix.gui.qt import QTranslator

    path = catalogue(language)
    translator = QTranslator(app)  # type: ignore[arg-type]
    if not path.is_file() or not translator.load(str(path)):
        raise InvalidInput(f"the {LANGUAGES[language]} catalogue {path} is missing or unreadable: run "
                           "'python packaging/translations.py'")
    app.installTranslator(translator)  # type: ignore[attr-defined]
    return translator
