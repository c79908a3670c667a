"""Offline evaluation: protocols, score files and EER/DET reports."""
