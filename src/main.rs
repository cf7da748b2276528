fn main() {
    std::process::exit(wancert::cli::main(std::env::args().skip(1).collect()));
}
