"""Golden values of what feeds each shipped model and what it gives back, on fixed real samples (``samples.py``)."""
