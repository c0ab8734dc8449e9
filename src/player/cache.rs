//! The player's frame cache: decoded frames (and the samples behind them) under a memory
//! budget, least recently used out first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::frame::Frame;
use crate::media::color::SourceSamples;
use crate::media::display_planes::DisplayPlanes;

/// A decoded frame and the samples behind it.
#[derive(Clone)]
pub(super) struct Decoded {
    pub frame: Arc<Frame>,
    pub samples: Option<Arc<SourceSamples>>,
    /// The frame's full size (oriented); the frame itself is smaller when it was converted
    /// for display while playing.
    pub full_size: (u32, u32),
    /// The planes with their conversion's parameters, for a display that converts them
    /// itself (the GPU display); `frame` is empty when they came instead of RGB.
    pub planes: Option<Arc<DisplayPlanes>>,
}

impl Decoded {
    /// Converted at display size, smaller than the frame is.
    pub fn is_reduced(&self) -> bool {
        (self.frame.width, self.frame.height) != self.full_size
    }

    fn byte_size(&self) -> usize {
        // The planes are the samples' frame (another reference), counted once.
        let planes = match (&self.samples, &self.planes) {
            (None, Some(planes)) => planes.byte_size(),
            _ => 0,
        };
        self.frame.byte_size() + self.samples.as_ref().map_or(0, |s| s.byte_size()) + planes
    }
}

/// Decoded frames under a memory budget, least recently used out first.
pub(super) struct FrameCache {
    budget: usize,
    used: usize,
    frames: HashMap<usize, Decoded>,
    order: VecDeque<usize>,
}

impl FrameCache {
    pub fn new(budget: usize) -> FrameCache {
        FrameCache {
            budget,
            used: 0,
            frames: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.order.clear();
        self.used = 0;
    }

    pub fn get(&mut self, index: usize) -> Option<Decoded> {
        let frame = self.frames.get(&index)?.clone();
        self.order.retain(|&i| i != index);
        self.order.push_back(index);
        Some(frame)
    }

    /// How many frames of the size cached last fit in the budget (`None` before the first).
    pub fn frames_that_fit(&self) -> Option<usize> {
        let last = self.order.back().and_then(|i| self.frames.get(i))?;
        Some(self.budget / last.byte_size().max(1))
    }

    pub fn contains(&self, index: usize) -> bool {
        self.frames.contains_key(&index)
    }

    pub fn insert(&mut self, frame: Decoded) {
        let index = frame.frame.index;
        if let Some(old) = self.frames.insert(index, frame.clone()) {
            self.used -= old.byte_size();
            self.order.retain(|&i| i != index);
        }
        self.used += frame.byte_size();
        self.order.push_back(index);
        while self.used > self.budget && self.order.len() > 1 {
            if let Some(evicted) = self.order.pop_front().and_then(|i| self.frames.remove(&i)) {
                self.used -= evicted.byte_size();
            }
        }
    }

    /// The cached frame nearest to `index`.
    pub fn nearest(&self, index: usize) -> Option<Decoded> {
        self.frames
            .iter()
            .min_by_key(|(i, _)| i.abs_diff(index))
            .map(|(_, f)| f.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelLayout;

    fn frame(index: usize, bytes: usize) -> Decoded {
        Decoded {
            frame: Arc::new(Frame {
                index,
                time_seconds: None,
                width: 1,
                height: 1,
                layout: PixelLayout::Rgb8,
                pixels: vec![0; bytes],
            }),
            samples: None,
            full_size: (1, 1),
            planes: None,
        }
    }

    #[test]
    fn the_budget_holds_so_many_frames_of_the_last_size_and_evicts_the_oldest() {
        let mut cache = FrameCache::new(1000);
        assert_eq!(cache.frames_that_fit(), None, "nothing cached yet");
        for index in 0..5 {
            cache.insert(frame(index, 300));
        }
        assert_eq!(cache.frames_that_fit(), Some(3));
        assert!(!cache.contains(0) && !cache.contains(1), "oldest out first");
        assert!(cache.contains(2) && cache.contains(3) && cache.contains(4));
        // Touching a frame makes it the newest: the next insert evicts another.
        assert!(cache.get(2).is_some());
        cache.insert(frame(5, 300));
        assert!(cache.contains(2) && !cache.contains(3));
    }
}
