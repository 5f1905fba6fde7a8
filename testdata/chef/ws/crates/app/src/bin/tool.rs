fn main() {
    conditional::cfg_if! {
        if #[cfg(unix)] { println!("unix tool"); } else { println!("tool"); }
    }
}
