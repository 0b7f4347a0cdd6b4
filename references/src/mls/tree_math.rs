//! Index arithmetic of the left-balanced binary tree (RFC 9420 §4.1 and appendix C).
//!
//! Nodes are numbered in-order: leaves have even indices (leaf `i` is node `2i`), parents
//! odd ones, and a node's level is the number of trailing one bits of its index. RFC 9420
//! trees are always complete, so a tree over `n_leaves` leaves (a power of two) has
//! `2 * n_leaves - 1` nodes; the functions below follow the appendix and answer `None`
//! where the tree has no such node.

/// The level of node `x`: 0 for a leaf, the count of trailing one bits otherwise.
pub fn level(x: u32) -> u32 {
    x.trailing_ones()
}

/// The number of nodes of a tree with `n_leaves` leaves (`node_width` in the appendix).
/// Node indices are u32, so a tree of more than 2^31 leaves has no width here: it
/// saturates at `u32::MAX` instead of overflowing (a vector claiming one fails its check).
pub fn node_width(n_leaves: u32) -> u32 {
    if n_leaves == 0 {
        0
    } else {
        (n_leaves - 1).saturating_mul(2).saturating_add(1)
    }
}

/// The root's index in a tree with `n_leaves` leaves: the largest power of two not above
/// the width, less one.
pub fn root(n_leaves: u32) -> u32 {
    let w = node_width(n_leaves);
    if w == 0 {
        return 0;
    }
    (1u32 << (31 - w.leading_zeros())) - 1
}

/// The left child of `x`; `None` for a leaf.
pub fn left(x: u32) -> Option<u32> {
    let k = level(x);
    (k > 0).then(|| x ^ (1 << (k - 1)))
}

/// The right child of `x`; `None` for a leaf.
pub fn right(x: u32) -> Option<u32> {
    let k = level(x);
    (k > 0).then(|| x ^ (3 << (k - 1)))
}

/// The parent of `x` in a tree with `n_leaves` leaves; `None` for the root and for an index
/// outside the tree.
pub fn parent(x: u32, n_leaves: u32) -> Option<u32> {
    if x == root(n_leaves) || x >= node_width(n_leaves) {
        return None;
    }
    let k = level(x);
    let b = (x >> (k + 1)) & 1;
    Some((x | (1 << k)) ^ (b << (k + 1)))
}

/// The other child of `x`'s parent; `None` for the root.
pub fn sibling(x: u32, n_leaves: u32) -> Option<u32> {
    let p = parent(x, n_leaves)?;
    if x < p {
        right(p)
    } else {
        left(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_four_leaf_tree() {
        assert_eq!(node_width(4), 7);
        assert_eq!(root(4), 3);
        assert_eq!((left(3), right(3)), (Some(1), Some(5)));
        assert_eq!(left(0), None);
        assert_eq!(parent(5, 4), Some(3));
        assert_eq!(parent(6, 4), Some(5));
        assert_eq!(parent(3, 4), None);
        assert_eq!(sibling(1, 4), Some(5));
        assert_eq!(sibling(4, 4), Some(6));
    }
}
