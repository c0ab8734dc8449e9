//! Which path converts frames for display: the GPU shader ([`GpuDisplay`]) or the CPU. The
//! app asks the player for planes while the GPU display is on; when the shader cannot run
//! (no OpenGL, a shader that does not compile or link, a failure while drawing) it says why
//! once in the log, turns the player back to RGB and shows the CPU's frames. Compare, the
//! inspector and copies always use the CPU path's RGB.

use std::sync::Arc;

use eframe::glow;

use super::{FramekitApp, Request, sampling};
use crate::gui::gpu_display::{DisplayMode, GpuDisplay, software_renderer};

/// The display path's state.
#[derive(Default)]
pub(super) struct DisplayState {
    pub mode: DisplayMode,
    /// eframe's OpenGL context (none in tests that build the app without a window).
    gl: Option<Arc<glow::Context>>,
    /// Set while the GPU display is in use.
    gpu: Option<GpuDisplay>,
    /// Why the CPU converts frames for display.
    why_cpu: Option<String>,
}

impl FramekitApp {
    /// Starts the display path the mode asks for, on eframe's context.
    pub(super) fn start_display(&mut self, gl: Option<Arc<glow::Context>>) {
        self.display.gl = gl;
        match self.display.mode {
            DisplayMode::Cpu => self.display.why_cpu = Some("--display cpu".to_string()),
            DisplayMode::Gpu | DisplayMode::Auto => self.enable_gpu_display(),
        }
    }

    /// "GPU shader" or "CPU": what converts frames for display now.
    pub fn display_path(&self) -> &'static str {
        if self.display.gpu.is_some() {
            "GPU shader"
        } else {
            "CPU"
        }
    }

    /// Why the CPU converts frames for display, when it does.
    pub fn display_note(&self) -> Option<&str> {
        self.display.why_cpu.as_deref()
    }

    /// The GPU display, when it draws the frame (not while comparing: compare shows the CPU
    /// path's pictures side by side).
    pub(super) fn gpu_for_view(&self) -> Option<&GpuDisplay> {
        self.display.gpu.as_ref().filter(|_| self.compare.is_none())
    }

    /// The GPU display is in use (playback then asks for planes at every zoom).
    pub(super) fn gpu_display_on(&self) -> bool {
        self.display.gpu.is_some() && self.compare.is_none()
    }

    /// The View menu's choice: the GPU display (even on software OpenGL) or the CPU.
    pub(super) fn choose_gpu_display(&mut self, on: bool) {
        if on {
            self.display.mode = DisplayMode::Gpu;
            self.enable_gpu_display();
        } else {
            self.display.mode = DisplayMode::Cpu;
            self.cpu_display("turned off in the View menu".to_string());
        }
    }

    pub(super) fn enable_gpu_display(&mut self) {
        if self.display.gpu.is_some() {
            return;
        }
        if self.display.mode == DisplayMode::Auto
            && let Some(renderer) = self.display.gl.as_deref().and_then(software_renderer)
        {
            self.cpu_display(format!(
                "auto: {renderer} is software OpenGL, slower than the CPU converter"
            ));
            return;
        }
        match GpuDisplay::new(self.display.gl.as_ref()) {
            Ok(gpu) => {
                tracing::info!("display: frames are converted by the GPU shader");
                self.display.gpu = Some(gpu);
                self.display.why_cpu = None;
                self.send(Request::DisplayPlanes(true));
                self.show_again();
            }
            Err(e) => self.cpu_display(e.to_string()),
        }
    }

    /// Back to the CPU path: `why` is logged once and shown in the info panel.
    pub(super) fn cpu_display(&mut self, why: String) {
        if let Some(gpu) = self.display.gpu.take() {
            gpu.destroy(self.display.gl.as_deref());
            self.send(Request::DisplayPlanes(false));
            self.show_again();
        }
        tracing::warn!("display: the CPU converts frames ({why})");
        if self.display.mode == DisplayMode::Gpu {
            self.messages.error = Some(format!(
                "the GPU display cannot run ({why}); frames are converted on the CPU"
            ));
        }
        self.display.why_cpu = Some(why);
    }

    /// Asks for the frame on screen again (its form changes with the display path).
    fn show_again(&mut self) {
        if self.screen.media.is_some() {
            self.full_asked = None;
            self.send(Request::Show {
                frame: self.screen.target,
            });
        }
    }

    /// Once per UI frame: falls back to the CPU if drawing failed, and uploads the CPU
    /// path's picture where it is drawn (compare, the CPU display) and not uploaded yet.
    pub(super) fn check_display(&mut self, ctx: &egui::Context) {
        if let Some(failure) = self.display.gpu.as_ref().and_then(GpuDisplay::take_failure) {
            self.cpu_display(failure.to_string());
        }
        let gpu_draws = self.gpu_display_on();
        let nearest = self.view.nearest;
        if let Some(shown) = &mut self.screen.shown
            && shown.texture.is_none()
            && shown.frame.width > 0
            && !(gpu_draws && shown.planes.is_some())
        {
            shown.texture = Some(ctx.load_texture("frame", shown.image.clone(), sampling(nearest)));
        }
    }

    /// The average upload + conversion time of the GPU display's last frames (seconds),
    /// and how many were timed.
    pub fn gpu_conversion_time(&self) -> Option<(f64, usize)> {
        self.display.gpu.as_ref()?.conversion_time()
    }

    pub(super) fn stop_display(&mut self, gl: Option<&glow::Context>) {
        if let Some(gpu) = self.display.gpu.take() {
            gpu.destroy(gl);
        }
    }
}
