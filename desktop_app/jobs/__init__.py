"""QObject jobs, each living on its own QThread and reporting only through signals."""
