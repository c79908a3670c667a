<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>audit_page</name>
    <message>
        <source>subject ID (exact), empty for all</source>
        <translation>Kunden-ID (genau), leer für alle</translation>
    </message>
    <message>
        <source>All events</source>
        <translation>Alle Ereignisse</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren…</translation>
    </message>
    <message>
        <source>Accept referred</source>
        <translation>Vorgelegte annehmen</translation>
    </message>
    <message>
        <source>Reject referred</source>
        <translation>Vorgelegte ablehnen</translation>
    </message>
    <message>
        <source>A supervisor settles the selected Refer decision; the settlement is a new audit row</source>
        <translation>Ein Vorgesetzter entscheidet die gewählte Vorlage; die Entscheidung ist eine neue Protokollzeile</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Kunde</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Ereignis</translation>
    </message>
    <message>
        <source>Last</source>
        <translation>Letzte</translation>
    </message>
    <message>
        <source>Select a row to see the entry as stored (UTC time, distance, threshold, model, details).</source>
        <translation>Wählen Sie eine Zeile, um den gespeicherten Eintrag zu sehen (UTC-Zeit, Abstand, Schwelle, Modell, Details).</translation>
    </message>
    <message>
        <source>audit rows</source>
        <translation>Protokollzeilen</translation>
    </message>
    <message>
        <source>the selected row as stored</source>
        <translation>die gewählte Zeile wie gespeichert</translation>
    </message>
    <message>
        <source>Select a verification whose decision is &apos;refer&apos;.</source>
        <translation>Wählen Sie eine Prüfung mit der Entscheidung „vorlegen“.</translation>
    </message>
    <message>
        <source>Referred verification {event_id} accepted (audit row {row}).</source>
        <translation>Vorgelegte Prüfung {event_id} angenommen (Protokollzeile {row}).</translation>
    </message>
    <message>
        <source>Referred verification {event_id} rejected (audit row {row}).</source>
        <translation>Vorgelegte Prüfung {event_id} abgelehnt (Protokollzeile {row}).</translation>
    </message>
    <message>
        <source>{rows} audit rows.</source>
        <translation>{rows} Protokollzeilen.</translation>
    </message>
    <message>
        <source>Export failed: {err}</source>
        <translation>Export fehlgeschlagen: {err}</translation>
    </message>
    <message>
        <source>Exported {entries} rows to {written}.</source>
        <translation>{entries} Zeilen nach {written} exportiert.</translation>
    </message>
    <message>
        <source>Export the audit rows</source>
        <translation>Protokollzeilen exportieren</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>{verdict} the referred verification</source>
        <translation>Vorgelegte Prüfung: {verdict}</translation>
    </message>
    <message>
        <source>{verdict} the verification of {value} referred at {time}? The settlement is audited under your name with this note.</source>
        <translation>Die am {time} vorgelegte Prüfung von {value}: {verdict}? Die Entscheidung wird unter Ihrem Namen mit dieser Notiz protokolliert.</translation>
    </message>
    <message>
        <source>Why (for example: identity document checked)</source>
        <translation>Warum (zum Beispiel: Ausweis geprüft)</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>Notiz</translation>
    </message>
    <message>
        <source>{n} / {max} characters</source>
        <translation>{n} / {max} Zeichen</translation>
    </message>
    <message>
        <source>{n} / {max} characters (a note is required)</source>
        <translation>{n} / {max} Zeichen (eine Notiz ist erforderlich)</translation>
    </message>
</context>
<context>
    <name>audit_view</name>
    <message>
        <source>Enrollment</source>
        <translation>Registrierung</translation>
    </message>
    <message>
        <source>Verification</source>
        <translation>Prüfung</translation>
    </message>
    <message>
        <source>Search of all subjects</source>
        <translation>Suche über alle Kunden</translation>
    </message>
    <message>
        <source>Referral settled</source>
        <translation>Vorlage entschieden</translation>
    </message>
    <message>
        <source>Enrollment deleted</source>
        <translation>Registrierung gelöscht</translation>
    </message>
    <message>
        <source>Subject erased</source>
        <translation>Kunde vollständig gelöscht</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>Anmeldung</translation>
    </message>
    <message>
        <source>Failed log in</source>
        <translation>Fehlgeschlagene Anmeldung</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>Abmeldung</translation>
    </message>
    <message>
        <source>Operator account</source>
        <translation>Benutzerkonto</translation>
    </message>
    <message>
        <source>Settings change</source>
        <translation>Einstellungsänderung</translation>
    </message>
    <message>
        <source>Encryption key</source>
        <translation>Schlüssel</translation>
    </message>
    <message>
        <source>Backup</source>
        <translation>Sicherung</translation>
    </message>
    <message>
        <source>Restore</source>
        <translation>Wiederherstellung</translation>
    </message>
    <message>
        <source>Accepted</source>
        <extracomment>The decisions, in words; a resolve row&apos;s accept/reject settles a referral.</extracomment>
        <translation>Angenommen</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>Abgelehnt</translation>
    </message>
    <message>
        <source>Referred to a supervisor</source>
        <translation>An Vorgesetzte vorgelegt</translation>
    </message>
    <message>
        <source>Match found</source>
        <translation>Treffer gefunden</translation>
    </message>
    <message>
        <source>No match</source>
        <translation>Kein Treffer</translation>
    </message>
    <message>
        <source>Enrolled</source>
        <translation>Registriert</translation>
    </message>
    <message>
        <source>Deleted</source>
        <translation>Gelöscht</translation>
    </message>
    <message>
        <source>Erased</source>
        <translation>Vollständig gelöscht</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <source>Added</source>
        <translation>Hinzugefügt</translation>
    </message>
    <message>
        <source>Changed</source>
        <translation>Geändert</translation>
    </message>
    <message>
        <source>Encrypted</source>
        <translation>Verschlüsselt</translation>
    </message>
    <message>
        <source>Key changed</source>
        <translation>Schlüssel gewechselt</translation>
    </message>
    <message>
        <source>Forced (audit check failed)</source>
        <translation>Erzwungen (Protokollprüfung fehlgeschlagen)</translation>
    </message>
    <message>
        <source>Unknown operator</source>
        <translation>Unbekannter Benutzer</translation>
    </message>
    <message>
        <source>Wrong password</source>
        <translation>Falsches Passwort</translation>
    </message>
    <message>
        <source>Account disabled</source>
        <translation>Konto deaktiviert</translation>
    </message>
    <message>
        <source>Account locked</source>
        <translation>Konto gesperrt</translation>
    </message>
    <message>
        <source>Wrong password: account now locked</source>
        <translation>Falsches Passwort: Konto jetzt gesperrt</translation>
    </message>
    <message>
        <source>Kiosk test mode started</source>
        <translation>Kiosk-Testmodus gestartet</translation>
    </message>
    <message>
        <source>Kiosk test mode ended</source>
        <translation>Kiosk-Testmodus beendet</translation>
    </message>
    <message>
        <source>Kiosk test mode refused</source>
        <translation>Kiosk-Testmodus verweigert</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Ereignis</translation>
    </message>
    <message>
        <source>Decision</source>
        <translation>Entscheidung</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Kunde</translation>
    </message>
    <message>
        <source>{event} — TEST MODE</source>
        <translation>{event} — TESTMODUS</translation>
    </message>
</context>
<context>
    <name>camera_view</name>
    <message>
        <source>Starting camera…</source>
        <extracomment>detect(frame, done): start a detection of ``frame`` off the UI thread and call ``done(FaceHint)`` on it later.</extracomment>
        <translation>Kamera startet…</translation>
    </message>
    <message>
        <source>No camera</source>
        <translation>Keine Kamera</translation>
    </message>
    <message>
        <source>Load a photo file…</source>
        <translation>Fotodatei laden…</translation>
    </message>
    <message>
        <source>Try the camera again</source>
        <translation>Kamera erneut versuchen</translation>
    </message>
    <message>
        <source>Capture</source>
        <translation>Aufnehmen</translation>
    </message>
    <message>
        <source>No camera: the video file {source} does not exist.</source>
        <translation>Keine Kamera: die Videodatei {source} existiert nicht.</translation>
    </message>
    <message>
        <source>No camera: {err}</source>
        <translation>Keine Kamera: {err}</translation>
    </message>
    <message>
        <source>You can load a photo file instead.</source>
        <translation>Sie können stattdessen eine Fotodatei laden.</translation>
    </message>
    <message>
        <source>Please see a member of staff.</source>
        <translation>Bitte wenden Sie sich an unsere Mitarbeiter.</translation>
    </message>
    <message>
        <source>Retake</source>
        <translation>Neu aufnehmen</translation>
    </message>
    <message>
        <source>That photo cannot be used: {err}</source>
        <translation>Dieses Foto ist nicht verwendbar: {err}</translation>
    </message>
    <message>
        <source>Load a face photo</source>
        <translation>Gesichtsfoto laden</translation>
    </message>
</context>
<context>
    <name>det_plot</name>
    <message>
        <source>DET curve</source>
        <translation>DET-Kurve</translation>
    </message>
    <message>
        <source>no DET points in this model card</source>
        <translation>keine DET-Punkte in dieser Modellkarte</translation>
    </message>
</context>
<context>
    <name>enroll_page</name>
    <message>
        <source>customer or employee number</source>
        <translation>Kunden- oder Mitarbeiternummer</translation>
    </message>
    <message>
        <source>as shown to tellers</source>
        <translation>wie am Schalter angezeigt</translation>
    </message>
    <message>
        <source>Replace an existing enrollment</source>
        <translation>Bestehende Registrierung ersetzen</translation>
    </message>
    <message>
        <source>Subject ID</source>
        <translation>Kunden-ID</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>References</source>
        <translation>Referenzen</translation>
    </message>
    <message>
        <source>Sign here (or drop a scan here), then press Add reference</source>
        <translation>Hier unterschreiben (oder einen Scan hierher ziehen), dann Referenz hinzufügen drücken</translation>
    </message>
    <message>
        <source>Undo stroke</source>
        <translation>Strich zurück</translation>
    </message>
    <message>
        <source>Clear pad</source>
        <translation>Feld leeren</translation>
    </message>
    <message>
        <source>Add reference</source>
        <translation>Referenz hinzufügen</translation>
    </message>
    <message>
        <source>Remove selected</source>
        <translation>Auswahl entfernen</translation>
    </message>
    <message>
        <source>Remove the reference selected in the strip</source>
        <translation>Die in der Leiste gewählte Referenz entfernen</translation>
    </message>
    <message>
        <source>Reference signatures</source>
        <translation>Referenzunterschriften</translation>
    </message>
    <message>
        <source>No face (optional)</source>
        <translation>Kein Gesicht (optional)</translation>
    </message>
    <message>
        <source>Remove face</source>
        <translation>Gesicht entfernen</translation>
    </message>
    <message>
        <source>Face (optional)</source>
        <translation>Gesicht (optional)</translation>
    </message>
    <message>
        <source>Check consistency</source>
        <translation>Einheitlichkeit prüfen</translation>
    </message>
    <message>
        <source>Save anyway (a flagged reference is kept)</source>
        <translation>Trotzdem speichern (die markierte Referenz bleibt)</translation>
    </message>
    <message>
        <source>Save enrollment</source>
        <translation>Registrierung speichern</translation>
    </message>
    <message>
        <source>reference signatures taken</source>
        <translation>aufgenommene Referenzunterschriften</translation>
    </message>
    <message>
        <source>{value} references are already there; remove one first.</source>
        <translation>{value} Referenzen sind schon da; entfernen Sie zuerst eine.</translation>
    </message>
    <message>
        <source>Reference {references} added.</source>
        <translation>Referenz {references} hinzugefügt.</translation>
    </message>
    <message>
        <source>Select a reference to remove.</source>
        <translation>Wählen Sie eine Referenz zum Entfernen.</translation>
    </message>
    <message>
        <source>At least 3 references are needed for the consistency check.</source>
        <translation>Für die Einheitlichkeitsprüfung sind mindestens 3 Referenzen nötig.</translation>
    </message>
    <message>
        <source>Checking the references…</source>
        <translation>Referenzen werden geprüft…</translation>
    </message>
    <message>
        <source>distance to the others {distance}</source>
        <translation>Abstand zu den anderen {distance}</translation>
    </message>
    <message>
        <source>Outlying reference — remove it and sign again. {text}</source>
        <translation>Abweichende Referenz — entfernen und neu unterschreiben. {text}</translation>
    </message>
    <message>
        <source>The references are consistent.</source>
        <translation>Die Referenzen sind einheitlich.</translation>
    </message>
    <message>
        <source>This face photo cannot be enrolled: {reason}</source>
        <translation>Dieses Gesichtsfoto kann nicht erfasst werden: {reason}</translation>
    </message>
    <message>
        <source>The subject changed: the samples taken for {old} were cleared.</source>
        <translation>Der Kunde hat gewechselt: die Proben für {old} wurden verworfen.</translation>
    </message>
    <message>
        <source>Enter the subject ID.</source>
        <translation>Geben Sie die Kunden-ID ein.</translation>
    </message>
    <message>
        <source>{references} of {n} reference signatures; add {value} more (or none, to enroll the face only).</source>
        <translation>{references} von {n} Referenzunterschriften; fügen Sie {value} weitere hinzu (oder keine, um nur das Gesicht zu registrieren).</translation>
    </message>
    <message>
        <source>A reference is flagged as outlying: remove it and sign again, or tick Save anyway.</source>
        <translation>Eine Referenz ist als abweichend markiert: entfernen und neu unterschreiben, oder Trotzdem speichern ankreuzen.</translation>
    </message>
    <message>
        <source>Enrolled {subject}: {parts}{note}.</source>
        <translation>{subject} registriert: {parts}{note}.</translation>
    </message>
    <message>
        <source>Saving {subject}…</source>
        <translation>{subject} wird gespeichert…</translation>
    </message>
</context>
<context>
    <name>gauge</name>
    <message>
        <source>distance gauge</source>
        <translation>Abstandsanzeige</translation>
    </message>
</context>
<context>
    <name>identify_page</name>
    <message>
        <source>Sample</source>
        <extracomment>Short headers: every column is in view on a 1024x600 screen (the Name column takes what is left).</extracomment>
        <translation>Probe</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Kunde</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Distance</source>
        <translation>Abstand</translation>
    </message>
    <message>
        <source>Match</source>
        <translation>Treffer</translation>
    </message>
    <message>
        <source>Identify</source>
        <translation>Identifizieren</translation>
    </message>
    <message>
        <source>yes: the distance is below the threshold in force</source>
        <translation>ja: der Abstand liegt unter der geltenden Schwelle</translation>
    </message>
    <message>
        <source>Candidates</source>
        <translation>Kandidaten</translation>
    </message>
    <message>
        <source>No subject is enrolled with a {value} template.</source>
        <translation>Kein Kunde ist mit einer Vorlage für {value} registriert.</translation>
    </message>
    <message>
        <source>{rows} candidates; {hits} below the threshold.</source>
        <translation>{rows} Kandidaten; {hits} unter der Schwelle.</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>Suche läuft…</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
</context>
<context>
    <name>kiosk</name>
    <message>
        <source>Thank you — you are verified.</source>
        <translation>Danke — Sie sind bestätigt.</translation>
    </message>
    <message>
        <source>Please see a member of staff to finish.</source>
        <translation>Bitte wenden Sie sich zum Abschluss an unsere Mitarbeiter.</translation>
    </message>
    <message>
        <source>We could not verify you. Please see a member of staff.</source>
        <translation>Wir konnten Sie nicht bestätigen. Bitte wenden Sie sich an unsere Mitarbeiter.</translation>
    </message>
    <message>
        <source>Clear</source>
        <extracomment>The PIN keypad, and the customer-number keyboard: digits, letters and &apos;-&apos;, so that every id enrolled at the counter (e.g. &quot;C-3001&quot;) can be typed at the kiosk (letters are matched to the enrolled id ignoring case).</extracomment>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Supervisor</source>
        <translation>Aufsicht</translation>
    </message>
    <message>
        <source>supervisor PIN</source>
        <translation>Aufsichts-PIN</translation>
    </message>
    <message>
        <source>Enter the supervisor PIN.</source>
        <translation>Geben Sie die Aufsichts-PIN ein.</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Wrong PIN.</source>
        <translation>Falsche PIN.</translation>
    </message>
    <message>
        <source>Biometrix kiosk</source>
        <translation>Biometrix-Kiosk</translation>
    </message>
    <message>
        <source>your customer number</source>
        <translation>Ihre Kundennummer</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>Verify your identity</source>
        <translation>Identität bestätigen</translation>
    </message>
    <message>
        <source>Take my photo</source>
        <translation>Foto aufnehmen</translation>
    </message>
    <message>
        <source>Sign here with the pen</source>
        <translation>Hier mit dem Stift unterschreiben</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <source>please type your customer number</source>
        <translation>bitte geben Sie Ihre Kundennummer ein</translation>
    </message>
    <message>
        <source>Look at the camera, then press Take my photo.</source>
        <translation>Schauen Sie in die Kamera und drücken Sie Foto aufnehmen.</translation>
    </message>
    <message>
        <source>Sign in the box below, then press Verify.</source>
        <translation>Unterschreiben Sie im Feld unten und drücken Sie Prüfen.</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <source>That customer number is not enrolled here. Please see a member of staff.</source>
        <translation>Diese Kundennummer ist hier nicht registriert. Bitte wenden Sie sich an unsere Mitarbeiter.</translation>
    </message>
    <message>
        <source>TEST MODE (unlocked by {admin}): decisions are audited as tests</source>
        <translation>TESTMODUS (freigegeben von {admin}): Entscheidungen werden als Tests protokolliert</translation>
    </message>
    <message>
        <source>Test: load a file…</source>
        <translation>Test: Datei laden…</translation>
    </message>
    <message>
        <source>Test mode: a photo or scan file</source>
        <translation>Testmodus: eine Foto- oder Scandatei</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.pgm)</source>
        <translation>Bilder (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.pgm)</translation>
    </message>
    <message>
        <source>TEST: scan file</source>
        <translation>TEST: Scandatei</translation>
    </message>
</context>
<context>
    <name>kiosk_supervisor</name>
    <message>
        <source>Supervisor</source>
        <extracomment>How long a test mode lasts at most; it also ends when the kiosk resets after being idle, or is locked.</extracomment>
        <translation>Aufsicht</translation>
    </message>
    <message>
        <source>admin name</source>
        <translation>Name des Administrators</translation>
    </message>
    <message>
        <source>admin password</source>
        <translation>Passwort des Administrators</translation>
    </message>
    <message>
        <source>Test mode lets a photo or scan file stand in for the camera or the pad, for testing only: an admin logs in to start it, and every decision in it is audited as a test. It ends after {minutes} minutes, when the kiosk is idle, or here.</source>
        <translation>Im Testmodus darf eine Foto- oder Scandatei Kamera oder Unterschriftenfeld ersetzen, nur zum Testen: ein Administrator meldet sich zum Start an, und jede Entscheidung darin wird als Test protokolliert. Er endet nach {minutes} Minuten, wenn der Kiosk unbenutzt ist, oder hier.</translation>
    </message>
    <message>
        <source>Leave the kiosk</source>
        <translation>Kiosk verlassen</translation>
    </message>
    <message>
        <source>Start test mode</source>
        <translation>Testmodus starten</translation>
    </message>
    <message>
        <source>End test mode</source>
        <translation>Testmodus beenden</translation>
    </message>
    <message>
        <source>Back to the kiosk</source>
        <translation>Zurück zum Kiosk</translation>
    </message>
    <message>
        <source>Admin name</source>
        <translation>Administrator</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>An admin&apos;s name and password are needed to start the test mode.</source>
        <translation>Zum Start des Testmodus sind Name und Passwort eines Administrators nötig.</translation>
    </message>
    <message>
        <source>Test mode not started: {why}</source>
        <translation>Testmodus nicht gestartet: {why}</translation>
    </message>
</context>
<context>
    <name>liveness</name>
    <message>
        <source>Look straight at the camera</source>
        <extracomment>How often a frame goes to the liveness check while the customer turns their head. What the liveness check asks of the customer (``preprocess.liveness``: PROMPTS, LIVENESS_MESSAGES), for the catalogue; shown through ``translate(&quot;liveness&quot;, ...)``.</extracomment>
        <translation>Bitte schauen Sie direkt in die Kamera</translation>
    </message>
    <message>
        <source>Slowly turn your head to your LEFT</source>
        <translation>Drehen Sie den Kopf langsam nach LINKS</translation>
    </message>
    <message>
        <source>Slowly turn your head to your RIGHT</source>
        <translation>Drehen Sie den Kopf langsam nach RECHTS</translation>
    </message>
    <message>
        <source>thank you</source>
        <translation>danke</translation>
    </message>
    <message>
        <source>the head was turned the other way; please try again</source>
        <translation>der Kopf wurde in die andere Richtung gedreht; bitte noch einmal</translation>
    </message>
    <message>
        <source>the movement did not look like a real head turning; please see a member of staff</source>
        <translation>die Bewegung sah nicht nach einer echten Kopfdrehung aus; bitte wenden Sie sich an einen Mitarbeiter</translation>
    </message>
    <message>
        <source>the head was not turned in time; please try again</source>
        <translation>der Kopf wurde nicht rechtzeitig gedreht; bitte noch einmal</translation>
    </message>
    <message>
        <source>the face left the camera&apos;s view; please try again</source>
        <translation>das Gesicht hat das Kamerabild verlassen; bitte noch einmal</translation>
    </message>
    <message>
        <source>please look straight at the camera first</source>
        <translation>bitte schauen Sie zuerst direkt in die Kamera</translation>
    </message>
</context>
<context>
    <name>login</name>
    <message>
        <source>Biometrix — operator login</source>
        <translation>Biometrix — Anmeldung</translation>
    </message>
    <message>
        <source>Opening the enrollment database…</source>
        <translation>Die Registrierungsdatenbank wird geöffnet…</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>Passwort wiederholen</translation>
    </message>
    <message>
        <source>First start: this database has no operators yet. Create its administrator (at least 10 characters for the password). Admins add tellers and supervisors.</source>
        <translation>Erster Start: diese Datenbank hat noch keine Benutzer. Legen Sie ihren Administrator an (Passwort mindestens 10 Zeichen). Administratoren legen Schalter- und Aufsichtskräfte an.</translation>
    </message>
    <message>
        <source>Log in with your operator name and password.</source>
        <translation>Melden Sie sich mit Benutzername und Passwort an.</translation>
    </message>
    <message>
        <source>Enter the operator name and the password.</source>
        <translation>Geben Sie Benutzername und Passwort ein.</translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>Die beiden Passwörter unterscheiden sich.</translation>
    </message>
</context>
<context>
    <name>main_window</name>
    <message>
        <source>Enroll</source>
        <extracomment>(page class, navigation label); Ctrl+1.. follow this order.</extracomment>
        <translation>Registrieren</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <source>Identify</source>
        <translation>Identifizieren</translation>
    </message>
    <message>
        <source>Audit</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Biometrix — signature and face verification</source>
        <translation>Biometrix — Unterschriften- und Gesichtsprüfung</translation>
    </message>
    <message>
        <source>{label} (Ctrl+{i})</source>
        <translation>{label} (Strg+{i})</translation>
    </message>
    <message>
        <source>Ctrl+1..5 switch pages. Models load on first use.</source>
        <translation>Strg+1..5 wechselt die Seiten. Modelle laden bei der ersten Nutzung.</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>In Arbeit…</translation>
    </message>
    <message>
        <source>pages</source>
        <translation>Seiten</translation>
    </message>
</context>
<context>
    <name>ops</name>
    <message>
        <source>Face found: ready to capture</source>
        <extracomment>The decision policy&apos;s settings the Settings page edits; only an admin may change them, in the database (``Biometrix.set_policy``), which audits each change with its old and new value.</extracomment>
        <translation>Gesicht gefunden: bereit zur Aufnahme</translation>
    </message>
    <message>
        <source>not available: {err}</source>
        <translation>nicht verfügbar: {err}</translation>
    </message>
    <message>
        <source>none: pen signatures are verified by the signature model above</source>
        <translation>keiner: Stift-Unterschriften prüft das Unterschriftenmodell oben</translation>
    </message>
    <message>
        <source>{model} decides a pen probe against references drawn with a pen: threshold {threshold} ({source}); set by its card, not here</source>
        <translation>{model} entscheidet eine Stift-Probe gegen mit dem Stift gezeichnete Referenzen: Schwelle {threshold} ({source}); von seiner Karte gesetzt, nicht hier</translation>
    </message>
</context>
<context>
    <name>pages</name>
    <message>
        <source>Audit log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Enroll a subject</source>
        <translation>Kunden registrieren</translation>
    </message>
    <message>
        <source>Identify (search all subjects)</source>
        <translation>Identifizieren (alle Kunden durchsuchen)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Verify a subject</source>
        <translation>Kunden prüfen</translation>
    </message>
</context>
<context>
    <name>scan</name>
    <message>
        <source>{name} is a PDF: export the page as a PNG, JPEG or TIFF image and import that (this app does not render PDF pages)</source>
        <extracomment>The scan files the app reads (what ``capture.files`` decodes); a PDF page needs a PDF renderer, which the app does not ship: the message says to export the page as an image. The fine rotation, in degrees either way (a scan put crooked on the glass).</extracomment>
        <translation>{name} ist ein PDF: exportieren Sie die Seite als PNG-, JPEG- oder TIFF-Bild und importieren Sie dieses (die App stellt keine PDF-Seiten dar)</translation>
    </message>
    <message>
        <source>{name} is not a scan: import a PNG, JPEG or TIFF image</source>
        <translation>{name} ist kein Scan: importieren Sie ein PNG-, JPEG- oder TIFF-Bild</translation>
    </message>
    <message>
        <source>{name} cannot be read as an image: {why}</source>
        <translation>{name} ist als Bild nicht lesbar: {why}</translation>
    </message>
    <message>
        <source>the crop is too small: drag a rectangle around the signature</source>
        <translation>der Ausschnitt ist zu klein: ziehen Sie ein Rechteck um die Unterschrift</translation>
    </message>
    <message>
        <source>scan to crop</source>
        <translation>zuzuschneidender Scan</translation>
    </message>
    <message>
        <source>Crop and rotate the scan</source>
        <translation>Scan zuschneiden und drehen</translation>
    </message>
    <message>
        <source>{name}: drag a rectangle around the signature; turn the scan upright.</source>
        <translation>{name}: ziehen Sie ein Rechteck um die Unterschrift; drehen Sie den Scan aufrecht.</translation>
    </message>
    <message>
        <source>Scan</source>
        <translation>Scan</translation>
    </message>
    <message>
        <source>Rotate left 90°</source>
        <translation>Links drehen 90°</translation>
    </message>
    <message>
        <source>Rotate right 90°</source>
        <translation>Rechts drehen 90°</translation>
    </message>
    <message>
        <source>Reset crop</source>
        <translation>Ausschnitt zurücksetzen</translation>
    </message>
    <message>
        <source>Fit to the ink</source>
        <translation>Auf die Schrift zuschneiden</translation>
    </message>
    <message>
        <source>Crop to the writing on the scan (Ctrl+F); drag to adjust</source>
        <translation>Auf die Schrift des Scans zuschneiden (Strg+F); zum Anpassen ziehen</translation>
    </message>
    <message>
        <source>fine rotation in degrees</source>
        <translation>Feindrehung in Grad</translation>
    </message>
    <message>
        <source>crop to the ink</source>
        <translation>auf die Schrift zuschneiden</translation>
    </message>
    <message>
        <source>rotate left</source>
        <translation>links drehen</translation>
    </message>
    <message>
        <source>rotate right</source>
        <translation>rechts drehen</translation>
    </message>
    <message>
        <source>reset crop</source>
        <translation>Ausschnitt zurücksetzen</translation>
    </message>
    <message>
        <source>Fine:</source>
        <translation>Fein:</translation>
    </message>
    <message>
        <source>Import scan…</source>
        <translation>Scan importieren…</translation>
    </message>
    <message>
        <source>A scanned signature from a PNG, JPEG or TIFF file (or drop the file on the pad)</source>
        <translation>Eine gescannte Unterschrift aus einer PNG-, JPEG- oder TIFF-Datei (oder die Datei auf das Feld ziehen)</translation>
    </message>
    <message>
        <source>import a scanned signature</source>
        <translation>eine gescannte Unterschrift importieren</translation>
    </message>
    <message>
        <source>Import a scanned signature</source>
        <translation>Gescannte Unterschrift importieren</translation>
    </message>
    <message>
        <source>SCANNED SIGNATURE — {name}</source>
        <translation>GESCANNTE UNTERSCHRIFT — {name}</translation>
    </message>
    <message>
        <source>Scan of {name} taken; it is used as the signature.</source>
        <translation>Scan von {name} übernommen; er dient als Unterschrift.</translation>
    </message>
</context>
<context>
    <name>settings_boxes</name>
    <message>
        <source>This model card holds no DET points, so no DET curve is drawn and no target FMR can be chosen; the card records the FMR each threshold was set at.</source>
        <translation>Diese Modellkarte enthält keine DET-Punkte: keine DET-Kurve, keine Ziel-FMR wählbar; die Karte nennt die FMR, bei der jede Schwelle gesetzt wurde.</translation>
    </message>
    <message>
        <source>Signature</source>
        <translation>Unterschrift</translation>
    </message>
    <message>
        <source>Face</source>
        <translation>Gesicht</translation>
    </message>
    <message>
        <source>the card&apos;s threshold above</source>
        <translation>die Schwelle der Karte oben</translation>
    </message>
    <message>
        <source>(the model this database trusts{})</source>
        <translation>(das Modell, dem diese Datenbank vertraut{})</translation>
    </message>
    <message>
        <source>These are this database&apos;s decision policy: your changes are applied to the database and audited (old and new values).</source>
        <translation>Dies ist die Entscheidungsregel dieser Datenbank: Ihre Änderungen gelten für die Datenbank und werden protokolliert (alter und neuer Wert).</translation>
    </message>
    <message>
        <source>Only an admin changes the models, thresholds and the Refer band: they are this database&apos;s decision policy (biometrix policy set / models trust).</source>
        <translation>Nur ein Administrator ändert Modelle, Schwellen und den Vorlagebereich: sie sind die Entscheidungsregel dieser Datenbank (biometrix policy set / models trust).</translation>
    </message>
    <message>
        <source>FMR {fmr:.2%}</source>
        <translation>FMR {fmr:.2%}</translation>
    </message>
    <message>
        <source>set by hand</source>
        <translation>von Hand gesetzt</translation>
    </message>
    <message>
        <source>Kiosk supervisor PIN</source>
        <translation>Aufsichts-PIN des Kiosks</translation>
    </message>
    <message>
        <source>New PIN (4-12 digits)</source>
        <translation>Neue PIN (4-12 Ziffern)</translation>
    </message>
    <message>
        <source>Repeat</source>
        <translation>Wiederholen</translation>
    </message>
    <message>
        <source>FMR {value:g} %</source>
        <translation>FMR {value:g} %</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Schwelle</translation>
    </message>
    <message>
        <source>Target FMR</source>
        <translation>Ziel-FMR</translation>
    </message>
    <message>
        <source>Operating point</source>
        <translation>Arbeitspunkt</translation>
    </message>
    <message>
        <source>DET curve</source>
        <translation>DET-Kurve</translation>
    </message>
    <message>
        <source>Validation DET on {model_id}&apos;s card: {fmr} points, {n_genuine} genuine / {n_impostor} impostor comparisons ({source}).</source>
        <translation>Validierungs-DET der Karte von {model_id}: {fmr} Punkte, {n_genuine} echte / {n_impostor} fremde Vergleiche ({source}).</translation>
    </message>
    <message>
        <source>Not available: {error}</source>
        <translation>Nicht verfügbar: {error}</translation>
    </message>
    <message>
        <source>in force</source>
        <translation>in Kraft</translation>
    </message>
    <message>
        <source>an admin presses Apply and save</source>
        <translation>ein Administrator drückt Übernehmen und speichern</translation>
    </message>
    <message>
        <source>threshold {threshold}: FMR {fmr:.2%}, FNMR {fnmr:.2%} on the validation comparisons (target FMR {target:.1%}; {state})</source>
        <translation>Schwelle {threshold}: FMR {fmr:.2%}, FNMR {fnmr:.2%} auf den Validierungsvergleichen (Ziel-FMR {target:.1%}; {state})</translation>
    </message>
    <message>
        <source>(no source recorded)</source>
        <translation>(keine Quelle vermerkt)</translation>
    </message>
    <message>
        <source> (on the validation DET curve: FMR {fmr:.2%}, FNMR {fnmr:.2%})</source>
        <translation> (auf der Validierungs-DET-Kurve: FMR {fmr:.2%}, FNMR {fnmr:.2%})</translation>
    </message>
</context>
<context>
    <name>settings_page</name>
    <message>
        <source>Decisions</source>
        <extracomment>The sections, in the order of their tabs.</extracomment>
        <translation>Entscheidungen</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>Kiosk</source>
        <translation>Kiosk</translation>
    </message>
    <message>
        <source>Operators</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <source>Refer band</source>
        <extracomment>The labels of the sections&apos; rows, for the catalogue (shown through ``translate``).</extracomment>
        <translation>Vorlagebereich</translation>
    </message>
    <message>
        <source>Decision policy</source>
        <translation>Entscheidungsregel</translation>
    </message>
    <message>
        <source>Three zones</source>
        <translation>Drei Zonen</translation>
    </message>
    <message>
        <source>In force</source>
        <translation>Gültig</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Kamera</translation>
    </message>
    <message>
        <source>References to enroll</source>
        <translation>Referenzen je Registrierung</translation>
    </message>
    <message>
        <source>Database file</source>
        <translation>Datenbankdatei</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>In Benutzung</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>Kiosk verifies by</source>
        <translation>Kiosk prüft per</translation>
    </message>
    <message>
        <source>Kiosk resets after idle</source>
        <translation>Kiosk setzt zurück nach</translation>
    </message>
    <message>
        <source>Kiosk PIN</source>
        <translation>Kiosk-PIN</translation>
    </message>
    <message>
        <source>Logged in</source>
        <translation>Angemeldet</translation>
    </message>
    <message>
        <source>Models folder</source>
        <translation>Modellordner</translation>
    </message>
    <message>
        <source>Signature model</source>
        <translation>Unterschriftenmodell</translation>
    </message>
    <message>
        <source>Face model</source>
        <translation>Gesichtsmodell</translation>
    </message>
    <message>
        <source>Pen comparator</source>
        <translation>Stiftvergleich</translation>
    </message>
    <message>
        <source>Templates</source>
        <translation>Vorlagen</translation>
    </message>
    <message>
        <source>Nobody is enrolled yet: there are no templates to re-make.</source>
        <translation>Noch niemand ist registriert: es gibt keine Vorlagen neu zu erstellen.</translation>
    </message>
    <message>
        <source>{modality} ({model_id}): {made} made, {up_to_date} already up to date</source>
        <translation>{modality} ({model_id}): {made} erstellt, {up_to_date} schon aktuell</translation>
    </message>
    <message>
        <source>Templates re-made. </source>
        <translation>Vorlagen neu erstellt. </translation>
    </message>
    <message>
        <source>{text} Not re-made: {failures}</source>
        <translation>{text} Nicht neu erstellt: {failures}</translation>
    </message>
    <message>
        <source>Only an admin sees the operator accounts.</source>
        <translation>Nur ein Administrator sieht die Benutzerkonten.</translation>
    </message>
    <message>
        <source>None yet: the first one is the admin, made at the first start.</source>
        <translation>Noch keine: das erste ist der Administrator, angelegt beim ersten Start.</translation>
    </message>
    <message>
        <source> — disabled</source>
        <translation> — deaktiviert</translation>
    </message>
    <message>
        <source> — locked</source>
        <translation> — gesperrt</translation>
    </message>
    <message>
        <source>(Add, change or lock them with &apos;biometrix operator add / set&apos;.)</source>
        <translation>(Anlegen, ändern oder sperren mit &apos;biometrix operator add / set&apos;.)</translation>
    </message>
    <message>
        <source>default location</source>
        <translation>Standardort</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>bundled models (assets/models)</source>
        <translation>mitgelieferte Modelle (assets/models)</translation>
    </message>
    <message>
        <source>Re-make templates</source>
        <translation>Vorlagen neu erstellen</translation>
    </message>
    <message>
        <source>After a model change: make every subject&apos;s templates for the models in use from the samples kept in the database (admin)</source>
        <translation>Nach einem Modellwechsel: die Vorlagen aller Kunden für die Modelle in Benutzung aus den gespeicherten Proben erstellen (Administrator)</translation>
    </message>
    <message>
        <source> % of threshold</source>
        <translation> % der Schwelle</translation>
    </message>
    <message>
        <source>0 = first camera, or a video file</source>
        <translation>0 = erste Kamera, oder eine Videodatei</translation>
    </message>
    <message>
        <source>The app&apos;s language: applies at the next start</source>
        <translation>Die Sprache der App: gilt ab dem nächsten Start</translation>
    </message>
    <message>
        <source>Set supervisor PIN…</source>
        <translation>Aufsichts-PIN setzen…</translation>
    </message>
    <message>
        <source>by the card&apos;s zones</source>
        <translation>nach den Zonen der Modellkarte</translation>
    </message>
    <message>
        <source>Accept / Refer / Reject by the card&apos;s accept and reject thresholds, where the deciding card names both (scanned signatures, the pen comparator) and the policy keeps the card&apos;s own threshold; off: one threshold and the Refer band</source>
        <translation>Annehmen / Vorlegen / Ablehnen nach den Annahme- und Ablehnungsschwellen der Modellkarte, wo die entscheidende Karte beide nennt (gescannte Unterschriften, der Stiftvergleich) und die Richtlinie die Schwelle der Karte verwendet; aus: eine Schwelle und der Vorlagebereich</translation>
    </message>
    <message>
        <source>settings sections</source>
        <translation>Einstellungsbereiche</translation>
    </message>
    <message>
        <source>Apply and save</source>
        <translation>Übernehmen und speichern</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Verwerfen</translation>
    </message>
    <message>
        <source>set</source>
        <translation>gesetzt</translation>
    </message>
    <message>
        <source>not set (the kiosk needs one)</source>
        <translation>nicht gesetzt (der Kiosk braucht eine)</translation>
    </message>
    <message>
        <source>the settings or --db</source>
        <translation>die Einstellungen oder --db</translation>
    </message>
    <message>
        <source>{db_path}
(chosen by {reason})</source>
        <translation>{db_path}
(gewählt durch {reason})</translation>
    </message>
    <message>
        <source>nobody: this database has no operators yet</source>
        <translation>niemand: diese Datenbank hat noch keine Benutzer</translation>
    </message>
    <message>
        <source>Settings not saved: {err}</source>
        <translation>Einstellungen nicht gespeichert: {err}</translation>
    </message>
    <message>
        <source>Settings not saved: apply the database or models folder change first; the policy and models shown are those of the database in use.</source>
        <translation>Einstellungen nicht gespeichert: übernehmen Sie zuerst den Wechsel der Datenbank oder des Modellordners; Regel und Modelle gelten für die Datenbank in Benutzung.</translation>
    </message>
    <message>
        <source>Settings not saved: apply the model change alone first, then choose the thresholds of the new model&apos;s card.</source>
        <translation>Einstellungen nicht gespeichert: übernehmen Sie zuerst nur den Modellwechsel, dann die Schwellen der neuen Modellkarte.</translation>
    </message>
    <message>
        <source> The database now trusts {names}: re-make the templates of subjects enrolled before.</source>
        <translation> Die Datenbank vertraut jetzt {names}: erstellen Sie die Vorlagen der zuvor registrierten Kunden neu.</translation>
    </message>
    <message>
        <source>Trust other models</source>
        <translation>Anderen Modellen vertrauen</translation>
    </message>
    <message>
        <source>Make this database decide with these models ({names})? The change is audited; subjects enrolled under the previous model need their templates re-made (the button beside Templates).</source>
        <translation>Soll diese Datenbank mit diesen Modellen entscheiden ({names})? Die Änderung wird protokolliert; zuvor registrierte Kunden brauchen neu erstellte Vorlagen (die Schaltfläche bei Vorlagen).</translation>
    </message>
    <message>
        <source> The language changes at the next start.</source>
        <translation> Die Sprache wechselt beim nächsten Start.</translation>
    </message>
    <message>
        <source>Settings saved to {path}.</source>
        <translation>Einstellungen in {path} gespeichert.</translation>
    </message>
    <message>
        <source>Settings saved.</source>
        <translation>Einstellungen gespeichert.</translation>
    </message>
    <message>
        <source>Templates not re-made: {err}</source>
        <translation>Vorlagen nicht neu erstellt: {err}</translation>
    </message>
    <message>
        <source>Re-making templates from the kept samples…</source>
        <translation>Vorlagen werden aus den gespeicherten Proben neu erstellt…</translation>
    </message>
    <message>
        <source>%v / %m subjects</source>
        <translation>%v / %m Kunden</translation>
    </message>
    <message>
        <source>new PIN set (press Apply and save)</source>
        <translation>neue PIN gesetzt (Übernehmen und speichern drücken)</translation>
    </message>
    <message>
        <source>The two PINs differ.</source>
        <translation>Die beiden PINs unterscheiden sich.</translation>
    </message>
    <message>
        <source>Enrollment database</source>
        <translation>Registrierungsdatenbank</translation>
    </message>
    <message>
        <source>SQLite database (*.db *.sqlite);;All files (*)</source>
        <translation>SQLite-Datenbank (*.db *.sqlite);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>signature scan</source>
        <extracomment>The kinds of probe ``Biometrix.decision_rules`` names, for the catalogue (shown through ``translate``).</extracomment>
        <translation>Unterschrift (Scan)</translation>
    </message>
    <message>
        <source>signature pen</source>
        <translation>Unterschrift (Stift)</translation>
    </message>
    <message>
        <source>pen against pen references</source>
        <translation>Stift gegen Stift-Referenzen</translation>
    </message>
    <message>
        <source>face</source>
        <translation>Gesicht</translation>
    </message>
    <message>
        <source>{probe}: {model}, three zones: Accept at or below {accept}, Reject above {reject}, Refer between</source>
        <translation>{probe}: {model}, drei Zonen: Annehmen bis einschließlich {accept}, Ablehnen über {reject}, dazwischen Vorlegen</translation>
    </message>
    <message>
        <source>{probe}: {model}, one threshold: Accept at or below {accept}, Refer within ±{band}</source>
        <translation>{probe}: {model}, eine Schwelle: Annehmen bis einschließlich {accept}, Vorlegen innerhalb ±{band}</translation>
    </message>
    <message>
        <source>{probe}: {model}, one threshold: Accept at or below {accept}</source>
        <translation>{probe}: {model}, eine Schwelle: Annehmen bis einschließlich {accept}</translation>
    </message>
    <message>
        <source>not available: {error}</source>
        <translation>nicht verfügbar: {error}</translation>
    </message>
</context>
<context>
    <name>signature_pad</name>
    <message>
        <source>Sign here</source>
        <extracomment>Pressure given to mouse points, which have none. Pressure given to touch points: the pen renderer (stroke width, ``capture.pen.rasterize``) needs one, and touch screens report none (or a contact size that is not pen pressure), so every touch point gets this mid value. Synthesised mouse events (``source()`` other than ``MouseEventNotSynthesized``) are ignored while a touch stroke is drawn and for this long after it ends: some platforms deliver the system-made mouse events late.</extracomment>
        <translation>Hier unterschreiben</translation>
    </message>
    <message>
        <source>signature pad</source>
        <translation>Unterschriftenfeld</translation>
    </message>
    <message>
        <source>the signature pad is empty: sign on the pad first</source>
        <translation>das Unterschriftenfeld ist leer: bitte zuerst unterschreiben</translation>
    </message>
    <message>
        <source>the signature is too long for the pad (more than {points} points or {strokes} strokes): clear the pad and sign again</source>
        <translation>die Unterschrift ist zu lang für das Feld (mehr als {points} Punkte oder {strokes} Striche): Feld leeren und neu unterschreiben</translation>
    </message>
</context>
<context>
    <name>strength_bar</name>
    <message>
        <source>How close the probe is to the enrolled references: 100 % is identical, the mark is the decision threshold (50 %), 0 % is twice the threshold&apos;s distance or further. It is not a probability.</source>
        <extracomment>The strength at the threshold: a probe at the threshold&apos;s distance fills half the bar.</extracomment>
        <translation>Wie nah die Probe den registrierten Referenzen ist: 100 % ist identisch, die Marke ist die Entscheidungsschwelle (50 %), 0 % ist der doppelte Schwellenabstand oder mehr. Es ist keine Wahrscheinlichkeit.</translation>
    </message>
    <message>
        <source>match strength</source>
        <translation>Übereinstimmung</translation>
    </message>
</context>
<context>
    <name>verdict</name>
    <message>
        <source>ACCEPT</source>
        <translation>ANNEHMEN</translation>
    </message>
    <message>
        <source>REFER</source>
        <translation>VORLEGEN</translation>
    </message>
    <message>
        <source>REJECT</source>
        <translation>ABLEHNEN</translation>
    </message>
    <message>
        <source>The signature matches {who}&apos;s enrolled signatures.</source>
        <extracomment>One sentence per verdict and modality, in the teller&apos;s words: {who} is the subject.</extracomment>
        <translation>Die Unterschrift passt zu den registrierten Unterschriften von {who}.</translation>
    </message>
    <message>
        <source>The face matches {who}&apos;s enrolled faces.</source>
        <translation>Das Gesicht passt zu den registrierten Gesichtern von {who}.</translation>
    </message>
    <message>
        <source>The signature is close to {who}&apos;s but not close enough to decide: ask a supervisor to check the customer&apos;s identity.</source>
        <translation>Die Unterschrift ähnelt der von {who}, aber nicht genug für eine Entscheidung: lassen Sie eine Aufsicht die Identität des Kunden prüfen.</translation>
    </message>
    <message>
        <source>The face is close to {who}&apos;s but not close enough to decide: ask a supervisor to check the customer&apos;s identity.</source>
        <translation>Das Gesicht ähnelt dem von {who}, aber nicht genug für eine Entscheidung: lassen Sie eine Aufsicht die Identität des Kunden prüfen.</translation>
    </message>
    <message>
        <source>The signature does not match {who}&apos;s enrolled signatures.</source>
        <translation>Die Unterschrift passt nicht zu den registrierten Unterschriften von {who}.</translation>
    </message>
    <message>
        <source>The face does not match {who}&apos;s enrolled faces.</source>
        <translation>Das Gesicht passt nicht zu den registrierten Gesichtern von {who}.</translation>
    </message>
    <message>
        <source>Probe: SCAN</source>
        <extracomment>The probe&apos;s caption: how the signature was taken, so a scan is never taken for a pad drawing.</extracomment>
        <translation>Probe: SCAN</translation>
    </message>
    <message>
        <source>Probe: drawn on pad</source>
        <translation>Probe: auf dem Feld gezeichnet</translation>
    </message>
    <message>
        <source>Distance {distance}. Three zones (model {model}): accepted at or below {accept}, rejected above {reject}, referred to a supervisor between. Audited by the service as &apos;{label}&apos;.</source>
        <translation>Distanz {distance}. Drei Zonen (Modell {model}): angenommen bis einschließlich {accept}, abgelehnt über {reject}, dazwischen Vorgesetzten vorgelegt. Vom Dienst protokolliert als &apos;{label}&apos;.</translation>
    </message>
    <message>
        <source>, set at FMR {fmr:.2%}</source>
        <translation>, gesetzt bei FMR {fmr:.2%}</translation>
    </message>
    <message>
        <source>; Refer band ±{band}</source>
        <translation>; Vorlagebereich ±{band}</translation>
    </message>
    <message>
        <source>; no Refer band</source>
        <translation>; kein Vorlagebereich</translation>
    </message>
    <message>
        <source>Distance {distance}, threshold {threshold}{fmr} (model {model}){band}. Audited by the service as &apos;{label}&apos;.</source>
        <translation>Abstand {distance}, Schwelle {threshold}{fmr} (Modell {model}){band}. Vom Dienst protokolliert als &apos;{label}&apos;.</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Match strength</source>
        <translation>Übereinstimmung</translation>
    </message>
    <message>
        <source>Details ▸</source>
        <translation>Details ▸</translation>
    </message>
    <message>
        <source>Distance, threshold, FMR, model and Refer band of this decision</source>
        <translation>Abstand, Schwelle, FMR, Modell und Vorlagebereich dieser Entscheidung</translation>
    </message>
    <message>
        <source>Probe</source>
        <translation>Probe</translation>
    </message>
    <message>
        <source>Enrolled references</source>
        <translation>Registrierte Referenzen</translation>
    </message>
    <message>
        <source>Details ▾</source>
        <translation>Details ▾</translation>
    </message>
    <message>
        <source>no distance for this reference</source>
        <translation>kein Abstand für diese Referenz</translation>
    </message>
    <message>
        <source>{kind} distance of the probe to this reference</source>
        <translation>{kind}-Abstand der Probe zu dieser Referenz</translation>
    </message>
    <message>
        <source>{raw} ({distance:.3g}) divided by the references&apos; mean distance to each other ({scale:.3g}), the threshold&apos;s scale: the decision&apos;s distance is the mean of these</source>
        <translation>{raw} ({distance:.3g}) geteilt durch den mittleren Abstand der Referenzen untereinander ({scale:.3g}), den Maßstab der Schwelle: der Abstand der Entscheidung ist der Mittelwert davon</translation>
    </message>
</context>
<context>
    <name>verify_page</name>
    <message>
        <source>subject ID or name</source>
        <translation>Kunden-ID oder Name</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>Suchen</translation>
    </message>
    <message>
        <source>subjects found</source>
        <translation>gefundene Kunden</translation>
    </message>
    <message>
        <source>No subject matches {text!r}.</source>
        <translation>Kein Kunde passt zu {text!r}.</translation>
    </message>
    <message>
        <source>Signature</source>
        <translation>Unterschrift</translation>
    </message>
    <message>
        <source>Face</source>
        <translation>Gesicht</translation>
    </message>
    <message>
        <source>Sign here, or import or drop a scan</source>
        <translation>Hier unterschreiben, oder einen Scan importieren oder hierher ziehen</translation>
    </message>
    <message>
        <source>Undo stroke</source>
        <translation>Strich zurück</translation>
    </message>
    <message>
        <source>Clear pad</source>
        <translation>Feld leeren</translation>
    </message>
    <message>
        <source>Probe:</source>
        <translation>Probe:</translation>
    </message>
    <message>
        <source>no face image yet: start the camera or load a photo</source>
        <translation>noch kein Gesichtsbild: Kamera starten oder ein Foto laden</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Kunde</translation>
    </message>
    <message>
        <source>Find and select the subject first.</source>
        <translation>Suchen und wählen Sie zuerst den Kunden.</translation>
    </message>
    <message>
        <source>The verification of {subject} finished after the subject or the probe changed: its decision is in the audit log, not shown here.</source>
        <translation>Die Prüfung von {subject} endete, nachdem Kunde oder Probe gewechselt hatten: ihre Entscheidung steht im Protokoll, nicht hier.</translation>
    </message>
    <message>
        <source>Verifying {subject}…</source>
        <translation>{subject} wird geprüft…</translation>
    </message>
</context>
</TS>
