//! The `cold` command line.

fn main() {
    eprintln!("cold: the command line is not built yet");
    std::process::exit(2);
}
