fn main() {
    println!("cargo:rustc-env=CORE_LIB_GREETING=hello");
}
