//! The DNS transport seam: one query/answer exchange over UDP, or TCP when the answer is truncated.
