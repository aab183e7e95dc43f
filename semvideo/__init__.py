"""SemVideo companion: fMRI-to-video reconstruction with hierarchical semantic guidance.

The import flow is data → embed/semminer → models → metrics → interpret/viz; notebooks sit on top.
"""

__version__ = "0.1.0"
