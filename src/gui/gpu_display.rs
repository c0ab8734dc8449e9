//! The GPU display: the frame's decoded planes ([`DisplayPlanes`], from the player) uploaded
//! as integer textures and converted to RGB in a fragment shader, drawn through eframe's glow
//! renderer with an [`egui_glow::CallbackFn`]. The conversion is the CPU path's recipe
//! ([`crate::media::display_planes`]): the same matrix factors, the same integer chroma
//! upsampling, and for tone-mapped HDR the CPU tone map's own tables uploaded as textures.
//!
//! Two passes: the planes are converted once per frame into an RGBA texture of the stored
//! size (as the CPU path makes its RGB), which is then drawn into the view, rotated and
//! flipped for display, sampled linearly or (zoomed to 200% and up) by nearest pixel, as egui
//! samples the CPU path's texture. Only the display uses it: exports, copies, the inspector
//! and compare read the CPU path's RGB.
//!
//! [`GpuConverter`] is the GL part (also what the offscreen test drives); [`GpuDisplay`] is
//! the app's handle: the converter behind a lock the paint callback takes, the planes to
//! show, and whether the GPU path is up ("GPU shader") or the app fell back to the CPU.

use std::sync::{Arc, Mutex};

use eframe::egui_glow;
use eframe::glow::{self, HasContext};

use crate::media::display_planes::DisplayPlanes;

/// Which path converts frames for display (`--display`, `FRAMEKIT_DISPLAY`, View menu).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DisplayMode {
    /// The CPU converter for every frame.
    Cpu,
    /// The GPU shader; the CPU when it cannot run (said in the log and the status line).
    Gpu,
    /// The GPU shader where it runs, else the CPU (the default).
    #[default]
    Auto,
}

/// Why the GPU display cannot run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuDisplayError {
    #[error("no OpenGL context (the window is not drawn with OpenGL)")]
    NoContext,
    #[error("OpenGL shading language {0} is too old (the display needs GLSL 3.30 or ES 3.00)")]
    OldGlsl(String),
    #[error("the display shader did not compile: {0}")]
    Compile(String),
    #[error("the display shader did not link: {0}")]
    Link(String),
    #[error("OpenGL could not create a {0}")]
    Create(String),
    #[error("a {width}x{height} plane is over this GPU's texture limit ({max})")]
    TooLarge {
        width: usize,
        height: usize,
        max: i32,
    },
    #[error("the offscreen framebuffer is incomplete (status {0:#x})")]
    Framebuffer(u32),
    #[error("OpenGL error {0:#x} while converting a frame")]
    Gl(u32),
}

/// Entries a row of the table textures holds.
const TABLE_WIDTH: usize = 1024;

const CONVERT_VERTEX: &str = r"
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
";

/// The planes to RGB, one fragment per stored pixel (framebuffer row y = picture row y).
const CONVERT_FRAGMENT: &str = r"
uniform highp usampler2D u_y;
uniform highp usampler2D u_cb;
uniform highp usampler2D u_cr;
uniform ivec2 u_shift;
uniform ivec2 u_chroma_size;
uniform float u_luma_offset;
uniform float u_luma;
uniform float u_middle8;
uniform vec4 u_factors;
uniform int u_tone;
uniform highp sampler2D u_to_linear;
uniform highp usampler2D u_to_display;
uniform float u_linear_scale;
uniform float u_linear_offset;
uniform int u_linear_steps;
uniform int u_display_lowest;
uniform int u_display_shift;
uniform int u_display_last;
uniform vec3 u_gamut0;
uniform vec3 u_gamut1;
uniform vec3 u_gamut2;
uniform float u_hable_peak;
out vec4 o_color;

float sample_at(highp usampler2D plane, ivec2 at) {
    return float(texelFetch(plane, at, 0).r);
}

// Chroma at luma pixel p in eighths of a sample from the middle (planar.rs's read_row).
float chroma8(highp usampler2D plane, ivec2 p) {
    int near = p.y;
    int far = p.y;
    if (u_shift.y == 1) {
        near = p.y / 2;
        far = (p.y % 2 == 0) ? max(near - 1, 0) : min(near + 1, u_chroma_size.y - 1);
    }
    if (u_shift.x == 1) {
        int j = p.x / 2;
        float here = 3.0 * sample_at(plane, ivec2(j, near)) + sample_at(plane, ivec2(j, far));
        if (p.x % 2 == 0) {
            return 2.0 * here - u_middle8;
        }
        int k = min(j + 1, u_chroma_size.x - 1);
        float after = 3.0 * sample_at(plane, ivec2(k, near)) + sample_at(plane, ivec2(k, far));
        return here + after - u_middle8;
    }
    float blended = 3.0 * sample_at(plane, ivec2(p.x, near)) + sample_at(plane, ivec2(p.x, far));
    return 2.0 * blended - u_middle8;
}

float linear_light(float level) {
    float v = clamp(level * u_linear_scale + u_linear_offset, 0.0, float(u_linear_steps));
    int i = min(int(roundEven(v)), u_linear_steps);
    return texelFetch(u_to_linear, ivec2(i % 1024, i / 1024), 0).r;
}

float hable(float x) {
    const float a = 0.15, b = 0.50, c = 0.10, d = 0.20, e = 0.02, f = 0.30;
    return (x * (x * a + b * c) + d * e) / (x * (x * a + b) + d * f) - e / f;
}

float display_level(float v) {
    int bits = floatBitsToInt(v);
    int i = 0;
    if (bits >= u_display_lowest) {
        i = min((bits - u_display_lowest + (1 << (u_display_shift - 1))) >> u_display_shift,
                u_display_last);
    }
    return float(texelFetch(u_to_display, ivec2(i % 1024, i / 1024), 0).r);
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    float y_part = (sample_at(u_y, p) - u_luma_offset) * u_luma;
    float cb = chroma8(u_cb, p);
    float cr = chroma8(u_cr, p);
    vec3 levels = vec3(
        y_part + cr * u_factors.x,
        y_part + cr * u_factors.y + cb * u_factors.z,
        y_part + cb * u_factors.w);
    vec3 rgb;
    if (u_tone == 0) {
        rgb = roundEven(clamp(levels, 0.0, 255.0));
    } else {
        vec3 lin = vec3(linear_light(levels.r), linear_light(levels.g), linear_light(levels.b));
        vec3 bt709 = vec3(dot(u_gamut0, lin), dot(u_gamut1, lin), dot(u_gamut2, lin));
        float sig = max(max(max(bt709.r, bt709.g), bt709.b), 1e-6);
        float ratio = (hable(sig) / u_hable_peak) / sig;
        vec3 mapped = bt709 * ratio;
        rgb = vec3(display_level(mapped.r), display_level(mapped.g), display_level(mapped.b));
    }
    o_color = vec4(rgb / 255.0, 1.0);
}
";

/// The converted picture into the view: corner i of the view (top left, top right, bottom
/// left, bottom right) shows the picture at `u_corners[i]` (fractions, top row first).
const DRAW_VERTEX: &str = r"
uniform vec2 u_corners[4];
out vec2 v_uv;
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_uv = u_corners[gl_VertexID];
    gl_Position = vec4(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
}
";

const DRAW_FRAGMENT: &str = r"
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 o_color;
void main() {
    o_color = texture(u_image, v_uv);
}
";

/// The renderer's name when it is software OpenGL (Mesa's llvmpipe or softpipe, SwiftShader):
/// there the shader runs on the CPU cores and is slower than the CPU converter, so `auto`
/// leaves it alone.
pub fn software_renderer(gl: &glow::Context) -> Option<String> {
    // SAFETY: a plain query on the current context.
    let renderer = unsafe { gl.get_parameter_string(glow::RENDERER) };
    let lower = renderer.to_lowercase();
    ["llvmpipe", "softpipe", "swiftshader", "software"]
        .iter()
        .any(|name| lower.contains(name))
        .then_some(renderer)
}

/// The GLSL header for this context: 3.30 on desktop OpenGL, 3.00 ES on OpenGL ES.
fn glsl_header(gl: &glow::Context) -> Result<&'static str, GpuDisplayError> {
    // SAFETY: a plain query on the current context.
    let version = unsafe { gl.get_parameter_string(glow::SHADING_LANGUAGE_VERSION) };
    let es = version.contains(" ES ");
    let number: String = version
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    match (es, major, minor) {
        (true, 3.., _) => Ok("#version 300 es\nprecision highp float;\nprecision highp int;\n"),
        (false, 4.., _) | (false, 3, 30..) => Ok("#version 330\n"),
        _ => Err(GpuDisplayError::OldGlsl(version)),
    }
}

/// Compiles and links one program.
fn program(
    gl: &glow::Context,
    header: &str,
    vertex: &str,
    fragment: &str,
) -> Result<glow::Program, GpuDisplayError> {
    // SAFETY: shader and program objects made and used on the current context; every handle
    // used here was just created by it.
    unsafe {
        let program = gl
            .create_program()
            .map_err(|e| GpuDisplayError::Create(format!("program: {e}")))?;
        let mut shaders = Vec::new();
        for (kind, source) in [
            (glow::VERTEX_SHADER, vertex),
            (glow::FRAGMENT_SHADER, fragment),
        ] {
            let shader = gl
                .create_shader(kind)
                .map_err(|e| GpuDisplayError::Create(format!("shader: {e}")))?;
            gl.shader_source(shader, &format!("{header}{source}"));
            gl.compile_shader(shader);
            if !gl.get_shader_compile_status(shader) {
                let log = gl.get_shader_info_log(shader);
                gl.delete_shader(shader);
                gl.delete_program(program);
                return Err(GpuDisplayError::Compile(log.trim().to_string()));
            }
            gl.attach_shader(program, shader);
            shaders.push(shader);
        }
        gl.link_program(program);
        let linked = gl.get_program_link_status(program);
        for shader in shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if !linked {
            let log = gl.get_program_info_log(program);
            gl.delete_program(program);
            return Err(GpuDisplayError::Link(log.trim().to_string()));
        }
        Ok(program)
    }
}

/// A texture with nearest sampling and clamped edges.
fn texture(gl: &glow::Context) -> Result<glow::Texture, GpuDisplayError> {
    // SAFETY: a new texture on the current context, bound and set up before use.
    unsafe {
        let texture = gl
            .create_texture()
            .map_err(|e| GpuDisplayError::Create(format!("texture: {e}")))?;
        gl.bind_texture(glow::TEXTURE_2D, Some(texture));
        for (parameter, value) in [
            (glow::TEXTURE_MIN_FILTER, glow::NEAREST),
            (glow::TEXTURE_MAG_FILTER, glow::NEAREST),
            (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
            (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
        ] {
            gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
        }
        Ok(texture)
    }
}

/// What a texture holds now, so that it is reallocated only when that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Allocation {
    width: usize,
    height: usize,
    wide: bool,
}

/// The shader programs, textures and framebuffer of the GPU display, on one GL context.
pub struct GpuConverter {
    convert: glow::Program,
    draw: glow::Program,
    vertex_array: glow::VertexArray,
    planes: [glow::Texture; 3],
    allocated: [Allocation; 3],
    to_linear: glow::Texture,
    to_display: glow::Texture,
    /// The tone map whose tables are uploaded (one per stream and peak).
    tables_of: Option<Arc<crate::media::tonemap_lut::ToneLut>>,
    target: glow::Texture,
    framebuffer: glow::Framebuffer,
    target_size: (usize, usize),
    max_texture: i32,
}

impl GpuConverter {
    /// Compiles the shaders and makes the textures; an error where the context cannot run
    /// them (the caller falls back to the CPU).
    pub fn new(gl: &glow::Context) -> Result<GpuConverter, GpuDisplayError> {
        let header = glsl_header(gl)?;
        let convert = program(gl, header, CONVERT_VERTEX, CONVERT_FRAGMENT)?;
        let draw = program(gl, header, DRAW_VERTEX, DRAW_FRAGMENT)?;
        // SAFETY: objects made on the current context; the framebuffer and vertex array are
        // only bound by this converter's own calls.
        unsafe {
            let vertex_array = gl
                .create_vertex_array()
                .map_err(|e| GpuDisplayError::Create(format!("vertex array: {e}")))?;
            let framebuffer = gl
                .create_framebuffer()
                .map_err(|e| GpuDisplayError::Create(format!("framebuffer: {e}")))?;
            let max_texture = gl.get_parameter_i32(glow::MAX_TEXTURE_SIZE);
            Ok(GpuConverter {
                convert,
                draw,
                vertex_array,
                planes: [texture(gl)?, texture(gl)?, texture(gl)?],
                allocated: [Allocation::default(); 3],
                to_linear: texture(gl)?,
                to_display: texture(gl)?,
                tables_of: None,
                target: texture(gl)?,
                framebuffer,
                target_size: (0, 0),
                max_texture,
            })
        }
    }

    /// The stored size of the last converted picture.
    pub fn size(&self) -> (usize, usize) {
        self.target_size
    }

    /// Uploads `planes` and converts them into the picture texture (stored size), leaving
    /// `restore` bound as the framebuffer. The viewport and scissor are the caller's to
    /// restore.
    pub fn convert(
        &mut self,
        gl: &glow::Context,
        planes: &DisplayPlanes,
        restore: Option<glow::Framebuffer>,
    ) -> Result<(), GpuDisplayError> {
        let max = self.max_texture;
        if planes.width > max as usize || planes.height > max as usize {
            return Err(GpuDisplayError::TooLarge {
                width: planes.width,
                height: planes.height,
                max,
            });
        }
        // Errors left by earlier calls are read (and so cleared), so that the check at the
        // end sees this conversion's own.
        for _ in 0..16 {
            // SAFETY: a plain query on the current context.
            if unsafe { gl.get_error() } == glow::NO_ERROR {
                break;
            }
        }
        self.upload_planes(gl, planes);
        if let Some(lut) = &planes.tone
            && !self.tables_of.as_ref().is_some_and(|t| Arc::ptr_eq(t, lut))
        {
            self.upload_tables(gl, lut);
            self.tables_of = Some(lut.clone());
        }
        let (width, height) = (planes.width, planes.height);
        // SAFETY: every object used is this converter's, made on the current context; the
        // texture sizes were checked against the context's limit above.
        unsafe {
            gl.bind_texture(glow::TEXTURE_2D, Some(self.target));
            if self.target_size != (width, height) {
                gl.tex_image_2d(
                    glow::TEXTURE_2D,
                    0,
                    glow::RGBA8 as i32,
                    width as i32,
                    height as i32,
                    0,
                    glow::RGBA,
                    glow::UNSIGNED_BYTE,
                    glow::PixelUnpackData::Slice(None),
                );
                self.target_size = (width, height);
            }
            gl.bind_framebuffer(glow::FRAMEBUFFER, Some(self.framebuffer));
            gl.framebuffer_texture_2d(
                glow::FRAMEBUFFER,
                glow::COLOR_ATTACHMENT0,
                glow::TEXTURE_2D,
                Some(self.target),
                0,
            );
            let status = gl.check_framebuffer_status(glow::FRAMEBUFFER);
            if status != glow::FRAMEBUFFER_COMPLETE {
                gl.bind_framebuffer(glow::FRAMEBUFFER, restore);
                return Err(GpuDisplayError::Framebuffer(status));
            }
            gl.viewport(0, 0, width as i32, height as i32);
            gl.disable(glow::SCISSOR_TEST);
            gl.disable(glow::BLEND);
            gl.use_program(Some(self.convert));
            self.set_convert_uniforms(gl, planes);
            gl.bind_vertex_array(Some(self.vertex_array));
            gl.draw_arrays(glow::TRIANGLE_STRIP, 0, 4);
            gl.bind_vertex_array(None);
            gl.bind_framebuffer(glow::FRAMEBUFFER, restore);
            match gl.get_error() {
                glow::NO_ERROR => Ok(()),
                error => Err(GpuDisplayError::Gl(error)),
            }
        }
    }

    fn upload_planes(&mut self, gl: &glow::Context, planes: &DisplayPlanes) {
        let wide = planes.layout.bytes_per_sample() == 2;
        let (internal, kind) = if wide {
            (glow::R16UI, glow::UNSIGNED_SHORT)
        } else {
            (glow::R8UI, glow::UNSIGNED_BYTE)
        };
        for (index, (texture, allocated)) in self
            .planes
            .iter()
            .zip(self.allocated.iter_mut())
            .enumerate()
        {
            let Some(plane) = planes.plane(index) else {
                continue;
            };
            let allocation = Allocation {
                width: plane.width,
                height: plane.height,
                wide,
            };
            let rows = &plane.bytes[..plane.stride * (plane.height - 1)
                + plane.width * planes.layout.bytes_per_sample()];
            // SAFETY: the texture is this converter's; `rows` holds `height` rows of `width`
            // samples `stride` bytes apart (checked when the planes were made), which is
            // what the unpack row length and alignment set here tell OpenGL to read.
            unsafe {
                gl.active_texture(glow::TEXTURE0 + index as u32);
                gl.bind_texture(glow::TEXTURE_2D, Some(*texture));
                gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
                gl.pixel_store_i32(
                    glow::UNPACK_ROW_LENGTH,
                    (plane.stride / planes.layout.bytes_per_sample()) as i32,
                );
                if *allocated != allocation {
                    gl.tex_image_2d(
                        glow::TEXTURE_2D,
                        0,
                        internal as i32,
                        plane.width as i32,
                        plane.height as i32,
                        0,
                        glow::RED_INTEGER,
                        kind,
                        glow::PixelUnpackData::Slice(Some(rows)),
                    );
                    *allocated = allocation;
                } else {
                    gl.tex_sub_image_2d(
                        glow::TEXTURE_2D,
                        0,
                        0,
                        0,
                        plane.width as i32,
                        plane.height as i32,
                        glow::RED_INTEGER,
                        kind,
                        glow::PixelUnpackData::Slice(Some(rows)),
                    );
                }
                gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, 0);
                gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
            }
        }
        // SAFETY: back to the unit egui's painter expects.
        unsafe { gl.active_texture(glow::TEXTURE0) };
    }

    /// The tone map's tables as textures, `TABLE_WIDTH` entries a row.
    fn upload_tables(&self, gl: &glow::Context, lut: &crate::media::tonemap_lut::ToneLut) {
        let tables = lut.tables();
        let rows = |len: usize| len.div_ceil(TABLE_WIDTH);
        let mut linear = tables.to_linear.to_vec();
        linear.resize(rows(linear.len()) * TABLE_WIDTH, 0.0);
        let linear_bytes: Vec<u8> = linear.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mut display = tables.to_display.to_vec();
        display.resize(rows(display.len()) * TABLE_WIDTH, 0);
        // SAFETY: the textures are this converter's; each slice holds exactly `rows` rows
        // of TABLE_WIDTH entries of the format given.
        unsafe {
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
            gl.bind_texture(glow::TEXTURE_2D, Some(self.to_linear));
            gl.tex_image_2d(
                glow::TEXTURE_2D,
                0,
                glow::R32F as i32,
                TABLE_WIDTH as i32,
                rows(tables.to_linear.len()) as i32,
                0,
                glow::RED,
                glow::FLOAT,
                glow::PixelUnpackData::Slice(Some(&linear_bytes)),
            );
            gl.bind_texture(glow::TEXTURE_2D, Some(self.to_display));
            gl.tex_image_2d(
                glow::TEXTURE_2D,
                0,
                glow::R8UI as i32,
                TABLE_WIDTH as i32,
                rows(tables.to_display.len()) as i32,
                0,
                glow::RED_INTEGER,
                glow::UNSIGNED_BYTE,
                glow::PixelUnpackData::Slice(Some(&display)),
            );
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
        }
    }

    /// # Safety
    /// The convert program must be in use on the current context.
    unsafe fn set_convert_uniforms(&self, gl: &glow::Context, planes: &DisplayPlanes) {
        let p = self.convert;
        // SAFETY: uniform locations of the program in use; textures are this converter's.
        unsafe {
            let at = |name: &str| gl.get_uniform_location(p, name);
            for (unit, name) in ["u_y", "u_cb", "u_cr"].into_iter().enumerate() {
                gl.active_texture(glow::TEXTURE0 + unit as u32);
                gl.bind_texture(glow::TEXTURE_2D, Some(self.planes[unit]));
                gl.uniform_1_i32(at(name).as_ref(), unit as i32);
            }
            let m = planes.matrix;
            let (chroma_w, chroma_h) = planes.plane_size(1);
            gl.uniform_2_i32(
                at("u_shift").as_ref(),
                planes.layout.shift_x as i32,
                planes.layout.shift_y as i32,
            );
            gl.uniform_2_i32(
                at("u_chroma_size").as_ref(),
                chroma_w as i32,
                chroma_h as i32,
            );
            gl.uniform_1_f32(at("u_luma_offset").as_ref(), m.luma_offset);
            gl.uniform_1_f32(at("u_luma").as_ref(), m.luma);
            gl.uniform_1_f32(at("u_middle8").as_ref(), m.chroma_middle * m.chroma_steps);
            gl.uniform_4_f32(
                at("u_factors").as_ref(),
                m.cr_to_r,
                m.cr_to_g,
                m.cb_to_g,
                m.cb_to_b,
            );
            gl.uniform_1_i32(at("u_tone").as_ref(), i32::from(planes.tone.is_some()));
            if let Some(lut) = &planes.tone {
                let t = lut.tables();
                gl.active_texture(glow::TEXTURE3);
                gl.bind_texture(glow::TEXTURE_2D, Some(self.to_linear));
                gl.uniform_1_i32(at("u_to_linear").as_ref(), 3);
                gl.active_texture(glow::TEXTURE4);
                gl.bind_texture(glow::TEXTURE_2D, Some(self.to_display));
                gl.uniform_1_i32(at("u_to_display").as_ref(), 4);
                // As tonemap_lut's map_row computes them (single precision).
                gl.uniform_1_f32(at("u_linear_scale").as_ref(), t.linear_per_unit / 255.0);
                gl.uniform_1_f32(
                    at("u_linear_offset").as_ref(),
                    -t.linear_low * t.linear_per_unit,
                );
                gl.uniform_1_i32(
                    at("u_linear_steps").as_ref(),
                    (t.to_linear.len() - 1) as i32,
                );
                gl.uniform_1_i32(at("u_display_lowest").as_ref(), t.display_lowest_bits);
                gl.uniform_1_i32(at("u_display_shift").as_ref(), t.display_shift as i32);
                gl.uniform_1_i32(
                    at("u_display_last").as_ref(),
                    (t.to_display.len() - 1) as i32,
                );
                for (row, name) in t.gamut.iter().zip(["u_gamut0", "u_gamut1", "u_gamut2"]) {
                    gl.uniform_3_f32(at(name).as_ref(), row[0], row[1], row[2]);
                }
                gl.uniform_1_f32(at("u_hable_peak").as_ref(), t.hable_peak);
            } else {
                // Integer samplers must still name a unit holding an integer texture.
                gl.uniform_1_i32(at("u_to_display").as_ref(), 0);
                gl.uniform_1_i32(at("u_to_linear").as_ref(), 5);
            }
            gl.active_texture(glow::TEXTURE0);
        }
    }

    /// Draws the converted picture over the whole current viewport, its corners from
    /// `corners` ([`DisplayPlanes::stored_corners`]), sampled by nearest pixel or linearly.
    pub fn draw(&self, gl: &glow::Context, corners: [[f32; 2]; 4], nearest: bool) {
        let filter = if nearest { glow::NEAREST } else { glow::LINEAR };
        let filter = filter as i32;
        let flat: Vec<f32> = corners.iter().flatten().copied().collect();
        // SAFETY: this converter's program, texture and vertex array on the current context.
        unsafe {
            gl.disable(glow::BLEND);
            gl.use_program(Some(self.draw));
            gl.active_texture(glow::TEXTURE0);
            gl.bind_texture(glow::TEXTURE_2D, Some(self.target));
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, filter);
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, filter);
            gl.uniform_1_i32(gl.get_uniform_location(self.draw, "u_image").as_ref(), 0);
            gl.uniform_2_f32_slice(
                gl.get_uniform_location(self.draw, "u_corners").as_ref(),
                &flat,
            );
            gl.bind_vertex_array(Some(self.vertex_array));
            gl.draw_arrays(glow::TRIANGLE_STRIP, 0, 4);
            gl.bind_vertex_array(None);
        }
    }

    /// The converted picture as packed RGB rows, top row first (what the offscreen test
    /// compares with the CPU path).
    pub fn read_rgb(&self, gl: &glow::Context, restore: Option<glow::Framebuffer>) -> Vec<u8> {
        let (width, height) = self.target_size;
        let mut rgba = vec![0u8; width * height * 4];
        // SAFETY: the framebuffer is this converter's, `rgba` holds width x height RGBA bytes.
        unsafe {
            gl.bind_framebuffer(glow::FRAMEBUFFER, Some(self.framebuffer));
            gl.pixel_store_i32(glow::PACK_ALIGNMENT, 1);
            gl.read_pixels(
                0,
                0,
                width as i32,
                height as i32,
                glow::RGBA,
                glow::UNSIGNED_BYTE,
                glow::PixelPackData::Slice(Some(&mut rgba)),
            );
            gl.bind_framebuffer(glow::FRAMEBUFFER, restore);
        }
        rgba.chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect()
    }

    /// Frees the GL objects.
    pub fn destroy(&self, gl: &glow::Context) {
        // SAFETY: every object is this converter's and not used after this.
        unsafe {
            gl.delete_program(self.convert);
            gl.delete_program(self.draw);
            gl.delete_vertex_array(self.vertex_array);
            for texture in self.planes {
                gl.delete_texture(texture);
            }
            gl.delete_texture(self.to_linear);
            gl.delete_texture(self.to_display);
            gl.delete_texture(self.target);
            gl.delete_framebuffer(self.framebuffer);
        }
    }
}

/// What the paint callback and the app share.
#[derive(Default)]
struct Shared {
    converter: Option<GpuConverter>,
    /// The planes last converted (held, so no later planes can take their address).
    converted: Option<Arc<DisplayPlanes>>,
    /// Set by the callback when the GPU path failed; the app falls back to the CPU.
    failure: Option<GpuDisplayError>,
    /// Seconds the last conversions took on the UI thread (upload + convert), newest last.
    timings: Vec<f64>,
}

/// The app's GPU display: `None` of it where the mode is CPU or the context cannot run it.
#[derive(Clone)]
pub struct GpuDisplay {
    shared: Arc<Mutex<Shared>>,
}

impl GpuDisplay {
    /// The GPU display on eframe's context, or why not (no context, shaders that do not
    /// compile).
    pub fn new(gl: Option<&Arc<glow::Context>>) -> Result<GpuDisplay, GpuDisplayError> {
        let gl = gl.ok_or(GpuDisplayError::NoContext)?;
        let converter = GpuConverter::new(gl)?;
        Ok(GpuDisplay {
            shared: Arc::new(Mutex::new(Shared {
                converter: Some(converter),
                ..Shared::default()
            })),
        })
    }

    /// Why the GPU path stopped, once (the app then shows frames from the CPU).
    pub fn take_failure(&self) -> Option<GpuDisplayError> {
        self.shared.lock().ok()?.failure.take()
    }

    /// The average time the last conversions took on the UI thread (upload + convert), in
    /// seconds, and how many were timed.
    pub fn conversion_time(&self) -> Option<(f64, usize)> {
        let shared = self.shared.lock().ok()?;
        let n = shared.timings.len();
        (n > 0).then(|| (shared.timings.iter().sum::<f64>() / n as f64, n))
    }

    /// A paint callback that shows `planes` in `rect` (converting them first when they are
    /// not the ones converted last).
    pub fn paint_callback(
        &self,
        rect: egui::Rect,
        planes: Arc<DisplayPlanes>,
        nearest: bool,
    ) -> egui::PaintCallback {
        let shared = self.shared.clone();
        let callback = egui_glow::CallbackFn::new(move |info, painter| {
            let Ok(mut shared) = shared.lock() else {
                return;
            };
            let shared = &mut *shared;
            if shared.failure.is_some() {
                return;
            }
            let Some(converter) = shared.converter.as_mut() else {
                return;
            };
            let gl = painter.gl();
            if !shared
                .converted
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, &planes))
            {
                let started = std::time::Instant::now();
                let mut scissor = [0i32; 4];
                // SAFETY: a plain query on the context egui paints with.
                unsafe { gl.get_parameter_i32_slice(glow::SCISSOR_BOX, &mut scissor) };
                let result = converter.convert(gl, &planes, painter.intermediate_fbo());
                let viewport = info.viewport_in_pixels();
                // SAFETY: back to the viewport and scissor egui set for this callback.
                unsafe {
                    gl.viewport(
                        viewport.left_px,
                        viewport.from_bottom_px,
                        viewport.width_px,
                        viewport.height_px,
                    );
                    gl.enable(glow::SCISSOR_TEST);
                    gl.scissor(scissor[0], scissor[1], scissor[2], scissor[3]);
                }
                if let Err(e) = result {
                    shared.failure = Some(e);
                    shared.converted = None;
                    return;
                }
                shared.converted = Some(planes.clone());
                if shared.timings.len() >= 120 {
                    shared.timings.remove(0);
                }
                shared.timings.push(started.elapsed().as_secs_f64());
            }
            converter.draw(gl, planes.stored_corners(), nearest);
        });
        egui::PaintCallback {
            rect,
            callback: Arc::new(callback),
        }
    }

    /// Frees the GL objects (the app is closing).
    pub fn destroy(&self, gl: Option<&glow::Context>) {
        if let (Ok(mut shared), Some(gl)) = (self.shared.lock(), gl)
            && let Some(converter) = shared.converter.take()
        {
            converter.destroy(gl);
        }
    }
}
