//! The process seam: run an argv without a shell.
