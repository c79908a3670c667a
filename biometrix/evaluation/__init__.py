"""Offline evaluation: data sets and protocols (CEDAR, SVC2004, Omniglot runs, folder-per-class, digits), score files and EER/DET reports."""
