"""Offline evaluation: data sets and protocols, score files and EER/DET reports.

CEDAR, SVC2004, Omniglot one-shot runs, folder-per-class image sets and the sklearn digits.
"""
