//! Where a DCNv3 layer sampled, as plain data the page and the CLI can query: the records
//! `[h, w, G, 9, 3]` = (p_x, p_y, m) of one run, in the layer's feature-map coordinates, and the
//! map to image pixels (spec section 4: feature coordinate p sits at image pixel `stride * p`).

use crate::ops::dcnv3::{POINTS, SAMPLING_STRIDE};

#[derive(Clone, Debug, PartialEq)]
pub struct LayerSampling {
    pub level: usize,
    pub block: usize,
    /// Image pixels per feature pixel.
    pub stride: u32,
    pub height: u32,
    pub width: u32,
    pub groups: u32,
    pub records: Vec<f32>,
}

/// One sampling point of one group, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplePoint {
    pub group: u32,
    /// 0..9; point k has the regular offset (k div 3 - 1, k mod 3 - 1) in (x, y).
    pub point: u32,
    pub x: f32,
    pub y: f32,
    /// The softmaxed modulation weight; the 9 of a group sum to 1.
    pub weight: f32,
    /// Where the regular 3x3 convolution would have sampled, in image pixels.
    pub regular_x: f32,
    pub regular_y: f32,
}

impl LayerSampling {
    /// The feature pixel (column, row) whose centre is nearest the image point.
    pub fn pixel_at(&self, image_x: f32, image_y: f32) -> (u32, u32) {
        let nearest = |v: f32, len: u32| {
            (v / self.stride as f32)
                .round()
                .clamp(0.0, (len - 1) as f32) as u32
        };
        (nearest(image_x, self.width), nearest(image_y, self.height))
    }

    /// The 9 points of every group (or of `only_group`) at feature pixel (column, row).
    pub fn points(&self, column: u32, row: u32, only_group: Option<u32>) -> Vec<SamplePoint> {
        let s = self.stride as f32;
        let pixel = (row * self.width + column) as usize;
        (0..self.groups)
            .filter(|g| only_group.is_none_or(|only| only == *g))
            .flat_map(|group| {
                (0..POINTS as u32).map(move |point| {
                    let record = ((pixel * self.groups as usize + group as usize) * POINTS
                        + point as usize)
                        * SAMPLING_STRIDE;
                    let r = &self.records[record..record + SAMPLING_STRIDE];
                    let (bx, by) = ((point / 3) as f32 - 1.0, (point % 3) as f32 - 1.0);
                    SamplePoint {
                        group,
                        point,
                        x: s * r[0],
                        y: s * r[1],
                        weight: r[2],
                        regular_x: s * (column as f32 + bx),
                        regular_y: s * (row as f32 + by),
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x3 map, 2 groups, every point shifted by (+0.5, -0.25) with weight 1/9.
    fn layer() -> LayerSampling {
        let (h, w, g) = (2u32, 3u32, 2u32);
        let mut records = Vec::new();
        for row in 0..h {
            for column in 0..w {
                for _ in 0..g {
                    for k in 0..9 {
                        let (bx, by) = ((k / 3) as f32 - 1.0, (k % 3) as f32 - 1.0);
                        records.extend([
                            column as f32 + bx + 0.5,
                            row as f32 + by - 0.25,
                            1.0 / 9.0,
                        ]);
                    }
                }
            }
        }
        LayerSampling {
            level: 1,
            block: 0,
            stride: 8,
            height: h,
            width: w,
            groups: g,
            records,
        }
    }

    #[test]
    fn image_points_map_to_the_nearest_feature_pixel() {
        let l = layer();
        assert_eq!(l.pixel_at(0.0, 0.0), (0, 0));
        assert_eq!(l.pixel_at(12.1, 3.0), (2, 0));
        assert_eq!(l.pixel_at(500.0, 500.0), (2, 1));
    }

    #[test]
    fn points_are_in_image_pixels_beside_the_regular_grid() {
        let l = layer();
        let all = l.points(1, 1, None);
        assert_eq!(all.len(), 18);
        let p = all[4]; // the centre point of group 0
        assert_eq!((p.regular_x, p.regular_y), (8.0, 8.0));
        assert_eq!((p.x, p.y), (8.0 + 4.0, 8.0 - 2.0));
        let one = l.points(1, 1, Some(1));
        assert_eq!(one.len(), 9);
        assert!(one.iter().all(|p| p.group == 1));
    }
}
