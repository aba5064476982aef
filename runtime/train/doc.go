// Package train is what a generated Trainer links for everything of training that is not
// its network's forward and backward passes: the parameters and their gradients, torch's
// optimizers and learning-rate schedules, gradient clipping, initialisation, freezing, the
// loss at the top of the backward pass, BatchNorm's running statistics, accuracy counting
// and saving the weights where the inference package loads them.
//
// A Trainer builds a Params once, a tensor per weight under its PyTorch state_dict name
// and in PyTorch's layout, in network order:
//
//	var ps train.Params
//	w, b := ps.Add("conv1.weight", 64, 3, 7, 7), ps.Add("conv1.bias", 64)
//	bnw, bnb, mean, variance, count := ps.AddBatchNorm("bn1", 64)
//	rng := train.NewRNG(seed)
//	rng.Default(w.Value, b.Value, w.Shape)          // or KaimingNormal, XavierUniform, ...
//	ps.Load(pretrained, "fc")                       // fine-tuning: all but the new head
//	ps.Freeze("layer1", "layer2")
//	opt, _ := train.NewSGD(&ps, train.SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true})
//	sched, _ := train.NewOneCycleLR(opt, train.OneCycleDefaults(0.05, epochs*steps))
//
// and then, per batch, allocates nothing:
//
//	ps.ZeroGrad()
//	forward(x) -> logits                            // generated, saving activations
//	loss, _ := train.CrossEntropy(logits, labels, classes, 0, dlogits)
//	backward(dlogits)                               // generated, writing each Param.Grad
//	train.ClipGradNorm(&ps, 1, 2)                   // optional
//	opt.Step()
//	sched.Step()
//	meter.Add(loss, logits, labels, classes)
//
// and at the end ps.SaveFile("model.safetensors", metadata).
//
// # Equivalence with torch
//
// The goldens (testdata/torch_train.json, from tools/make_train_goldens.py with torch 1.13)
// hold what torch computes; the tests compare:
//
//   - SGD (momentum, dampening, Nesterov, weight decay), Adam and AdamW (bias correction, eps
//     added after the corrected square root, AMSGrad, coupled or decoupled decay): equal to
//     torch's float32 bit for bit, each scalar rounded to float32 where torch rounds it and
//     each add(alpha=)/addcmul a fused multiply-add, as torch's AVX2 kernels compute them.
//     torch without AVX2 (or on ARM) rounds those separately, so it differs from itself there
//     by an ulp per operation; this package always computes the AVX2 results.
//   - StepLR, CosineAnnealingLR and OneCycleLR: torch's float64 arithmetic in torch's order,
//     the recursive forms included, with a correctly rounded cosine: every value equal but one,
//     an ulp off.
//   - clip_grad_norm_ and clip_grad_value_: the total norm within an ulp (float64 sums where
//     torch sums in float32), clipping by value exact.
//   - cross_entropy (with label smoothing): the loss within an ulp, the gradient within
//     4e-7 of the batch's 1/n.
//   - BatchNorm running statistics: bit for bit, from torch's float64 sums.
//   - initialisation: torch's fans, gains, standard deviations and bounds, but Go's random
//     numbers (math/rand/v2's PCG, seeded): the same distributions, not the same draws.
//   - saving: the bytes tools/st.py writes for the same state_dict (F32 tensors, I64
//     num_batches_tracked), which runtime.OpenWeights and the generated packages load.
package train
