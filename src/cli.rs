//! The command line: argument parsing, dispatch, exit codes.

/// Run the command line; returns the exit code.
pub fn main(_args: Vec<String>) -> i32 {
    2
}
