// Where a Winograd F(4x4, 3x3) tile lies, for winograd_input.comp and winograd_output.comp.
// A layer dilated by d along an axis is d undilated ones on the sub-grids of outputs whose
// coordinates share their remainder mod d, so tiles there hold outputs d apart; `residues`
// (min(d, the output extent)) sub-grids, tiles running over them fastest so that neighbouring
// tiles read neighbouring inputs.

// The first output coordinate of tile `index` along an axis.
int tile_origin(uint index, uint residues, int dilation) {
  return int(index % residues) + int(index / residues) * 4 * dilation;
}
