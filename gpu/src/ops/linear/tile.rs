//! The register tile of `linear_tiled.wgsl`, and its source spelled out for one tile.

use crate::context::AdapterSummary;

/// Rows and blocks of 4 columns that one invocation of the tiled kernel computes. A workgroup
/// always covers [`Tile::WORKGROUP_BLOCK`] outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub rows: u32,
    pub blocks: u32,
}

impl Tile {
    /// 8 x 8 outputs, 16 vec4 accumulators: within a GPU thread's registers.
    pub const SMALL: Self = Self { rows: 8, blocks: 2 };
    /// 16 x 16 outputs, for big models on SwiftShader: there every load is a loop over the
    /// lanes and the accumulators spill whatever the tile, so fewer loads per multiply-add win
    /// (1.3x the small tile's speed; 16 x 32 was 1.6x but took 2 s a pipeline to compile
    /// against 0.35 s). Not on llvmpipe, where the small tile runs 1.7x faster than 16 x 32
    /// (docs/performance.md).
    pub const LARGE: Self = Self {
        rows: 16,
        blocks: 4,
    };
    /// Output columns and rows per workgroup.
    pub const WORKGROUP_BLOCK: [u32; 2] = [64, 64];

    /// Parameters from which a model takes the large tile on SwiftShader. Its pipelines take
    /// longer to compile (InternImage-T's build: about 2 s with the small tile, 3 s with this
    /// one), which InternImage-T (30 M parameters) pays back in its first two passes and the
    /// 2 M-parameter demo model, whose passes take 0.2 s, hardly ever.
    pub const LARGE_MIN_PARAMETERS: usize = 10_000_000;

    /// The tile for a model of `parameters` on the adapter: the large one on a browser's
    /// fallback adapter (SwiftShader) for big models, the small one elsewhere.
    pub fn for_model(adapter: &AdapterSummary, parameters: usize) -> Self {
        if adapter.is_browser_fallback() && parameters >= Self::LARGE_MIN_PARAMETERS {
            Self::LARGE
        } else {
            Self::SMALL
        }
    }

    /// Output columns per invocation.
    pub fn columns(self) -> u32 {
        4 * self.blocks
    }

    fn workgroup_size(self) -> [u32; 2] {
        let [cols, rows] = Self::WORKGROUP_BLOCK;
        [cols / self.columns(), rows / self.rows]
    }

    /// `linear_tiled.wgsl` for this tile: each line marked `$EACH_BLOCK`, `$EACH_PAIR` (of
    /// blocks), `$EACH_ROW` or `$EACH_ROW_PAIR` spelled out once per block `$b` (`$c` = `$b` +
    /// 1), row `$r`, or both (`$a`: the accumulator's index, `$r` x blocks + `$b`). Lines marked
    /// `$AND_EACH_BLOCK` after an `$EACH_ROW` line are spelled out per block within each row.
    pub fn source(self, template: &str) -> String {
        let [x, y] = self.workgroup_size();
        assert!(
            self.blocks.is_multiple_of(2)
                && [x * self.columns(), y * self.rows] == Self::WORKGROUP_BLOCK,
            "{self:?} does not tile {:?} with pairs of blocks",
            Self::WORKGROUP_BLOCK
        );
        let template = template
            .replace("$ROWS", &self.rows.to_string())
            .replace("$BLOCKS", &self.blocks.to_string())
            .replace("$WORKGROUP", &format!("{x}, {y}"))
            .replace("$ACCUMULATORS", &(self.rows * self.blocks).to_string());
        let lines: Vec<(&str, &str)> = template.lines().map(split_indent).collect();
        let (blocks, pairs) = (0..self.blocks, (0..self.blocks).step_by(2));
        let blocks_per_row = self.blocks;
        let fill = |indent: &str, statement: &str, r: u32, b: u32| {
            let filled = statement
                .replace("$a", &(r * blocks_per_row + b).to_string())
                .replace("$b", &b.to_string())
                .replace("$c", &(b + 1).to_string())
                .replace("$r", &r.to_string());
            format!("{indent}{filled}")
        };
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(&(indent, line)) = lines.get(at) {
            at += 1;
            if let Some(statement) = line.strip_prefix("$EACH_ROW ") {
                let nested: Vec<(&str, &str)> = lines[at..]
                    .iter()
                    .map_while(|&(indent, line)| {
                        Some((indent, line.strip_prefix("$AND_EACH_BLOCK ")?))
                    })
                    .collect();
                at += nested.len();
                for r in 0..self.rows {
                    out.push(fill(indent, statement, r, 0));
                    for b in blocks.clone() {
                        for &(indent, statement) in &nested {
                            out.push(fill(indent, statement, r, b));
                        }
                    }
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_ROW_PAIR ") {
                for r in 0..self.rows {
                    for b in pairs.clone() {
                        out.push(fill(indent, statement, r, b));
                    }
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_PAIR ") {
                out.extend(pairs.clone().map(|b| fill(indent, statement, 0, b)));
            } else if let Some(statement) = line.strip_prefix("$EACH_BLOCK ") {
                out.extend(blocks.clone().map(|b| fill(indent, statement, 0, b)));
            } else {
                out.push(format!("{indent}{line}"));
            }
        }
        out.join("\n") + "\n"
    }
}

/// A line's leading whitespace and the rest.
fn split_indent(line: &str) -> (&str, &str) {
    let rest = line.trim_start();
    (&line[..line.len() - rest.len()], rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marked_line_is_spelled_out_row_by_row() {
        let template = include_str!("linear_tiled.wgsl");
        for tile in [Tile::SMALL, Tile::LARGE] {
            let source = tile.source(template);
            assert!(!source.contains('$'), "{tile:?}: a marker is left");
            let count = |text: &str| source.matches(text).count() as u32;
            assert_eq!(count("] += w"), tile.rows * tile.blocks);
            assert_eq!(count("store_row(row0"), tile.rows * tile.blocks / 2);
            assert_eq!(count("= weights(q, col"), tile.blocks);
            // Each row's x is loaded just before the multiply-adds that use it.
            let last = tile.rows - 1;
            let load = source.find(&format!("let v{last} = ")).unwrap();
            let first_use = source.find(&format!("* v{last};")).unwrap();
            let previous_row = source.find(&format!("* v{};", last - 1)).unwrap();
            assert!(previous_row < load && load < first_use);
        }
    }
}
