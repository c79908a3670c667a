; Inno Setup script for the biometrix bundle on Windows. NOT BUILT HERE: nothing in this repository runs it
; (no Windows machine, no Inno Setup); it is kept in step with packaging/deb by hand.
;
; On a Windows machine with Python 3.11 and Inno Setup 6:
;   py -3.11 -m venv build\venv-cpu
;   build\venv-cpu\Scripts\pip install -c packaging\constraints.txt -e ".[cpu,package]"
;   build\venv-cpu\Scripts\pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller-cpu packaging\biometrix.spec
;   dist\biometrix\biometrix.exe --selftest
;   iscc /DAppVersion=0.1.0 packaging\windows\biometrix.iss        (the version in pyproject.toml)
; -> dist\biometrix-0.1.0-setup.exe
;
; The enrollment database is NOT part of the installation: it is created in the user's data folder
; (%LOCALAPPDATA%\biometrix\biometrix.db, platformdirs' user_data_dir), and the uninstaller deletes only the
; files it installed, so the database, its backups and the settings (%LOCALAPPDATA%\biometrix) stay.
; Do not add an enrollment_db folder to [Dirs]: beside the executable it would become every user's database.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\biometrix.iss
#endif
#define BundleDir "..\..\dist\biometrix"

[Setup]
AppId={{398888AD-8B1F-53F6-9ACD-5E33BEA3EAC0}
AppName=biometrix
AppVersion={#AppVersion}
AppPublisher=biometrix maintainers
DefaultDirName={autopf}\biometrix
DefaultGroupName=biometrix
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=biometrix-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
UninstallDisplayIcon={app}\biometrix.exe

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; GroupDescription: "Shortcuts:"
Name: "kioskautostart"; Description: "Start the kiosk when this user signs in (biometrix kiosk)"; GroupDescription: "Kiosk:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\biometrix"; Filename: "{app}\biometrix.exe"; Parameters: "gui"
Name: "{group}\biometrix kiosk"; Filename: "{app}\biometrix.exe"; Parameters: "kiosk"
Name: "{autodesktop}\biometrix"; Filename: "{app}\biometrix.exe"; Parameters: "gui"; Tasks: desktopicon
; the kiosk autostart: a shortcut in the installing user's Startup folder (the per-user equivalent of XDG autostart)
Name: "{userstartup}\biometrix kiosk"; Filename: "{app}\biometrix.exe"; Parameters: "kiosk"; Tasks: kioskautostart

[Run]
Filename: "{app}\biometrix.exe"; Parameters: "--selftest --no-gui"; Description: "Check the installation (self-test)"; Flags: postinstall skipifsilent unchecked runhidden waituntilterminated

; No [UninstallDelete] and no [Code] that touches {localappdata}: uninstalling keeps the enrollment database.
