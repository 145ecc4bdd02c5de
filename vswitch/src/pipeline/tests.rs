//! Whole bursts through the whole pipeline, on TestBuf.
