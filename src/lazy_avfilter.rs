//! libavfilter, loaded on first use instead of at process start (binary only).
//!
//! The system's libavfilter pulls in about 170 further shared libraries (libplacebo, Vulkan,
//! OCR, ...); mapping and relocating them cost ~35 ms of every framekit start, paid by each
//! `framekit frames --ids` call even though only the HDR tone map, compare and transcode
//! build filter graphs. This module defines, in the executable, the few libavfilter entry
//! points framekit calls; each forwards to the real function, found with `dlopen`/`dlsym` the
//! first time any of them runs. With every reference satisfied here, the linker
//! (`--as-needed`) leaves libavfilter out of the binary's startup list. Signatures are checked
//! at compile time against ffmpeg-sys's declarations. Tests and benches link the library
//! crate without this module, so they load libavfilter the usual way.

use ffmpeg_next::ffi::{
    AVFilter, AVFilterContext, AVFilterGraph, AVFilterInOut, AVFrame, AVRational,
    LIBAVFILTER_VERSION_MAJOR,
};
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

/// The library's file name, by the major version framekit was built against.
fn soname() -> String {
    format!("libavfilter.so.{LIBAVFILTER_VERSION_MAJOR}")
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message owned by libc.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated (checked above).
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    }
}

/// The library is a dependency of the package; without it framekit cannot go on. Says so on
/// one line and exits (these functions are called from FFmpeg-shaped C signatures that have
/// no way to report a missing library).
fn missing(what: &str) -> ! {
    eprintln!(
        "framekit: cannot load {what} ({}); install FFmpeg's libavfilter {LIBAVFILTER_VERSION_MAJOR} (Debian: libavfilter{LIBAVFILTER_VERSION_MAJOR})",
        dl_error()
    );
    std::process::exit(127)
}

macro_rules! lazy_functions {
    ($( fn $name:ident( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)?; )*) => {
        /// The real functions, resolved in libavfilter.
        struct Table {
            $( $name: unsafe extern "C" fn($($ty),*) $(-> $ret)?, )*
        }

        fn table() -> &'static Table {
            static TABLE: OnceLock<Table> = OnceLock::new();
            TABLE.get_or_init(|| {
                let name = soname();
                let c_name = CString::new(name.clone()).unwrap_or_default();
                // SAFETY: dlopen with a valid NUL-terminated name; the handle is kept for the
                // life of the process (never closed), so the resolved pointers stay valid.
                let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
                if handle.is_null() {
                    missing(&name);
                }
                Table {
                    $( $name: {
                        // SAFETY: the handle is open; the symbol name is NUL-terminated.
                        let address = unsafe {
                            libc::dlsym(handle, concat!(stringify!($name), "\0").as_ptr().cast())
                        };
                        if address.is_null() {
                            missing(concat!(stringify!($name), " in libavfilter"));
                        }
                        // SAFETY: the symbol is libavfilter's function of this name, whose C
                        // signature ffmpeg-sys declares exactly as below (checked at compile
                        // time in `signatures_match`).
                        unsafe {
                            std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty),*) $(-> $ret)?>(address)
                        }
                    }, )*
                }
            })
        }

        $(
            /// Forwards to libavfilter's function of the same name.
            ///
            /// # Safety
            /// The same contract as the C function.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller keeps the C function's contract.
                unsafe { (table().$name)($($arg),*) }
            }
        )*

        /// Fails to compile if a signature above differs from ffmpeg-sys's declaration.
        #[allow(dead_code)]
        fn signatures_match() {
            $( let _: unsafe extern "C" fn($($ty),*) $(-> $ret)? = ffmpeg_next::ffi::$name; )*
        }
    };
}

lazy_functions! {
    fn av_buffersink_get_frame(ctx: *mut AVFilterContext, frame: *mut AVFrame) -> c_int;
    fn av_buffersink_get_time_base(ctx: *const AVFilterContext) -> AVRational;
    fn av_buffersink_set_frame_size(ctx: *mut AVFilterContext, frame_size: c_uint);
    fn av_buffersrc_add_frame(ctx: *mut AVFilterContext, frame: *mut AVFrame) -> c_int;
    fn avfilter_get_by_name(name: *const c_char) -> *const AVFilter;
    fn avfilter_graph_alloc() -> *mut AVFilterGraph;
    fn avfilter_graph_config(graph: *mut AVFilterGraph, log_ctx: *mut c_void) -> c_int;
    fn avfilter_graph_create_filter(
        filter_context: *mut *mut AVFilterContext,
        filter: *const AVFilter,
        name: *const c_char,
        args: *const c_char,
        opaque: *mut c_void,
        graph: *mut AVFilterGraph
    ) -> c_int;
    fn avfilter_graph_free(graph: *mut *mut AVFilterGraph);
    fn avfilter_graph_get_filter(graph: *mut AVFilterGraph, name: *const c_char) -> *mut AVFilterContext;
    fn avfilter_graph_parse_ptr(
        graph: *mut AVFilterGraph,
        filters: *const c_char,
        inputs: *mut *mut AVFilterInOut,
        outputs: *mut *mut AVFilterInOut,
        log_ctx: *mut c_void
    ) -> c_int;
    fn avfilter_inout_alloc() -> *mut AVFilterInOut;
    fn avfilter_inout_free(inout: *mut *mut AVFilterInOut);
}
