use std::ffi::CStr;
use std::os::raw::c_char;

extern "C" {
    fn mix_fnv1a(p: *const u8, n: usize) -> u32;
    fn mix_arch() -> *const c_char;
}

fn main() {
    let text = "hello from crossapp v1";
    // SAFETY: mix.c reads exactly n bytes and returns a static string.
    let (hash, arch) = unsafe {
        (
            mix_fnv1a(text.as_ptr(), text.len()),
            CStr::from_ptr(mix_arch()).to_string_lossy().into_owned(),
        )
    };
    println!("{} on {}", text, env!("CROSSAPP_TARGET"));
    println!("C fnv1a={:08x} arch={}", hash, arch);
    println!("{}", words::to_json(text));
}
