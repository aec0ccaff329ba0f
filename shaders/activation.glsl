// A fused activation (ops::Activation). The including shader defines ACT_ID, the first of the
// three specialization constant ids it takes: the code (ops::ActivationKind), alpha and beta.
// NaN passes through every one unchanged, as in PyTorch; max() and min() alone would not
// guarantee that.
layout(constant_id = ACT_ID) const int ACT = 0;
layout(constant_id = ACT_ID + 1) const float ACT_ALPHA = 0.0;
layout(constant_id = ACT_ID + 2) const float ACT_BETA = 0.0;

float activate(float v) {
  if (ACT == 0 || isnan(v)) return v;
  if (ACT == 1) return max(v, 0.0);
  if (ACT == 2) return v < 0.0 ? ACT_ALPHA * v : v;
  if (ACT == 3) return min(max(v, ACT_ALPHA), ACT_BETA);
  if (ACT == 4) return 1.0 / (1.0 + exp(-v));
  if (ACT == 5) return clamp(ACT_ALPHA * v + ACT_BETA, 0.0, 1.0);
  if (ACT == 6) return v * clamp(v + 3.0, 0.0, 6.0) / 6.0;
  return tanh(clamp(v, -10.0, 10.0));  // tanh(10) is 1 in fp32; beyond, exp() overflows
}
