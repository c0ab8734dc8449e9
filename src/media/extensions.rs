//! The one list of file extensions framekit takes as video and as images: walking a folder for
//! a transcode batch, files dropped on the app, and the app's file dialog all read it.

use std::path::Path;

/// File extensions taken as video.
pub const VIDEO_EXTENSIONS: [&str; 16] = [
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "m2ts", "flv", "wmv",
    "3gp", "ogv", "mxf",
];

/// File extensions taken as still images (each has its format in
/// [`super::still::format_from_extension`]).
pub const IMAGE_EXTENSIONS: [&str; 19] = [
    "png", "apng", "jpg", "jpeg", "jpe", "jfif", "gif", "webp", "bmp", "tif", "tiff", "ico", "pbm",
    "pgm", "ppm", "pnm", "pam", "tga", "qoi",
];

/// Whether `path` has a video file extension (case-insensitive).
pub fn is_video_path(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_extension_has_its_format_and_no_extension_is_both() {
        for ext in IMAGE_EXTENSIONS {
            let path = Path::new("x").with_extension(ext);
            assert!(
                super::super::still::format_from_extension(&path).is_some(),
                "{ext}"
            );
            assert!(!is_video_path(&path), "{ext}");
        }
        assert!(is_video_path(Path::new("clip.MKV")));
    }
}
