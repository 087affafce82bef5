"""Turning results into pictures and files: charts, PDFs, exports."""
