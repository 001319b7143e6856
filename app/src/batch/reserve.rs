//! Memory for the officer's file, taken and written before the file comes (the parsing
//! worker's `Reserve`, frontend/worker, wraps this). Feature `parser`: the worker's bundle
//! has it, the page's does not.

/// A block of memory written a step at a time, then dropped: freed to the allocator, which
/// keeps it for what comes next. A page of wasm memory costs the browser most the first
/// time it is written (the system maps it then), not when the memory grows.
pub struct MemoryReserve {
    block: Vec<u8>,
    size: usize,
}

impl MemoryReserve {
    /// A block of `size` bytes, grown at once and not yet written; none if the allocator
    /// will not give that much.
    pub fn new(size: usize) -> MemoryReserve {
        let mut block = Vec::new();
        let size = if block.try_reserve_exact(size).is_ok() {
            size
        } else {
            0
        };
        MemoryReserve { block, size }
    }

    /// Writes the next `step` bytes of the block; whether some are left to write.
    pub fn touch(&mut self, step: usize) -> bool {
        let end = self.block.len().saturating_add(step).min(self.size);
        self.block.resize(end, 0);
        self.block.len() < self.size
    }

    /// How many bytes are written.
    pub fn touched(&self) -> usize {
        self.block.len()
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryReserve;

    #[test]
    fn a_reserve_is_written_a_step_at_a_time_up_to_its_size() {
        let size = 10 * 4096 + 100;
        let mut reserve = MemoryReserve::new(size);
        let at = reserve.block.as_ptr();
        assert_eq!(reserve.touched(), 0);
        let mut steps = 1;
        while reserve.touch(4096) {
            assert_eq!(reserve.touched(), steps * 4096);
            steps += 1;
        }
        assert_eq!(steps, 11, "ten whole steps and a last short one");
        assert_eq!(reserve.touched(), size);
        assert!(!reserve.touch(4096), "nothing left to write");
        assert_eq!(reserve.touched(), size, "never past its size");
        // Taken from the allocator once: no step moved the block.
        assert_eq!(reserve.block.as_ptr(), at);
    }

    #[test]
    fn a_reserve_the_allocator_refuses_is_empty() {
        let mut reserve = MemoryReserve::new(usize::MAX);
        assert!(!reserve.touch(4096), "nothing to write");
        assert_eq!(reserve.touched(), 0);
    }
}
