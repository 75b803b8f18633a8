fn main() {
    eprintln!("rovsdb-server: not yet");
    std::process::exit(1);
}
