package emit

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"github.com/dave/jennifer/jen"
)

// api emits the types and the public functions around the layer functions.
func (e *emitter) api() {
	f, g := e.f, e.g
	arch := g.Name
	wrap := func(format string) jen.Code {
		return jen.Qual("fmt", "Errorf").Call(jen.Lit(arch+": "+format), jen.Err())
	}

	var convs []jen.Code
	for _, c := range e.convs {
		convs = append(convs, jen.Op("&").Id(c))
	}
	comment(f, "convs lists every convolution's settings: the scratch their kernels need depends on the\nkernels chosen at run time (the CPU's vector width).")
	f.Var().Id("convs").Op("=").Index().Op("*").Qual(kPath, "Conv").Values(convs...)
	f.Comment("weights are the packed, BN-folded tensors of every layer.")
	f.Type().Id("weights").Struct(e.wfields...)
	var loaders []jen.Code
	for _, l := range e.loads {
		loaders = append(loaders, jen.Func().Params().Params(jen.Err().Error()).Block(l, jen.Return()))
	}
	f.Comment("load reads, folds and packs every layer's weights, up to threads layers at a time.")
	f.Func().Params(jen.Id("w").Op("*").Id("weights")).Id("load").Params(jen.Id("f").Op("*").Qual(rtPath, "File"), jen.Id("threads").Int()).Error().
		Block(jen.Return(jen.Qual(rtPath, "LoadParallel").Call(jen.Id("threads"),
			jen.Index().Func().Params().Error().Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, loaders...))))

	f.Comment("Net is a loaded network. It is immutable and safe for concurrent use.")
	f.Type().Id("Net").Struct(
		jen.Id("w").Id("weights"),
		jen.Id("runner").Op("*").Qual(rtPath, "Runner"),
		jen.Id("pre").Qual(rtPath, "Preprocess"),
	)
	f.Comment("Option configures loading, e.g. rt.WithThreads or rt.WithPreprocess.")
	f.Type().Id("Option").Op("=").Qual(rtPath, "Option")
	f.Comment("WithThreads sets how many goroutines one Forward call may use (default GOMAXPROCS).")
	f.Func().Id("WithThreads").Params(jen.Id("n").Int()).Id("Option").Block(jen.Return(jen.Qual(rtPath, "WithThreads").Call(jen.Id("n"))))

	f.Comment("Load reads a safetensors weights file with the spec's tensor names (a PyTorch state_dict).")
	f.Func().Id("Load").Params(jen.Id("path").String(), jen.Id("opts").Op("...").Id("Option")).Params(jen.Op("*").Id("Net"), jen.Error()).Block(
		jen.List(jen.Id("file"), jen.Err()).Op(":=").Qual("os", "Open").Call(jen.Id("path")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("%w"))),
		jen.Defer().Id("file").Dot("Close").Call(),
		jen.Return(jen.Id("New").Call(jen.Id("file"), jen.Id("opts").Op("..."))),
	)
	comment(f, "New reads safetensors weights from r. Every tensor's name, dtype and shape is checked\nbefore any is used; batch norms are folded and weights packed for the kernels.")
	f.Func().Id("New").Params(jen.Id("r").Qual("io", "ReaderAt"), jen.Id("opts").Op("...").Id("Option")).Params(jen.Op("*").Id("Net"), jen.Error()).Block(
		jen.List(jen.Id("o"), jen.Err()).Op(":=").Qual(rtPath, "ApplyOptions").Call(jen.Id("opts")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("%w"))),
		jen.List(jen.Id("f"), jen.Err()).Op(":=").Qual(rtPath, "OpenWeights").Call(jen.Id("r")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("%w"))),
		jen.If(jen.Err().Op(":=").Id("f").Dot("Check").Call(jen.Id("expected")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("weights do not fit: %w"))),
		jen.Id("n").Op(":=").Op("&").Id("Net").Values(jen.Id("runner").Op(":").Qual(rtPath, "NewRunner").Call(jen.Id("arenaLen"), jen.Qual(rtPath, "ConvScratch").Call(jen.Id("convs")), jen.Id("o").Dot("Threads"), jen.Id("o").Dot("Profile")),
			jen.Id("pre").Op(":").Id("DefaultPreprocess")),
		jen.If(jen.Id("o").Dot("Preprocess").Op("!=").Nil()).Block(jen.Id("n").Dot("pre").Op("=").Op("*").Id("o").Dot("Preprocess")),
		jen.If(jen.Err().Op(":=").Id("n").Dot("w").Dot("load").Call(jen.Id("f"), jen.Id("o").Dot("Threads")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("%w"))),
		jen.Return(jen.Id("n"), jen.Nil()),
	)
	if e.o.Embed != "" {
		f.Anon("embed")
		f.Comment("//go:embed " + e.o.Embed)
		f.Var().Id("embeddedWeights").Index().Byte()
		f.Comment("LoadEmbedded loads the weights compiled into this package.")
		f.Func().Id("LoadEmbedded").Params(jen.Id("opts").Op("...").Id("Option")).Params(jen.Op("*").Id("Net"), jen.Error()).Block(
			jen.Return(jen.Id("New").Call(jen.Qual("bytes", "NewReader").Call(jen.Id("embeddedWeights")), jen.Id("opts").Op("..."))))
	}

	// RunImage: the layers in order over one arena.
	in := e.p.Of(g.Input())
	body := []jen.Code{jen.Copy(jen.Id("a").Dot("Buf").Index(jen.Lit(in.Off), jen.Lit(in.End())), jen.Id("in"))}
	for _, n := range g.Nodes {
		if !noCode(n.Op) { // a network of views only has no layer to call, and no use for n
			body = append([]jen.Code{jen.Id("n").Op(":=").Parens(jen.Op("*").Id("Net")).Parens(jen.Id("r"))}, body...)
			break
		}
	}
	var layers []jen.Code
	for _, n := range g.Nodes {
		if !noCode(n.Op) {
			body = append(body, jen.Id("n").Dot(e.ids[n]).Call(jen.Id("a")),
				jen.Id("a").Dot("Mark").Call(jen.Lit(len(layers))))
			layers = append(layers, jen.Values(jen.Id("Name").Op(":").Lit(n.Name), jen.Id("Op").Op(":").Lit(string(n.Op)),
				jen.Id("MACs").Op(":").Lit(int(ir.NodeStats(n).MACs))))
		}
		if n == e.features {
			body = append(body, jen.If(jen.Id("features")).Block(
				jen.Copy(jen.Id("out"), e.buf(n)),
				jen.Return(),
			))
		}
	}
	body = append(body, jen.Copy(jen.Id("out"), e.buf(g.Output)))
	f.Comment("Layers are the layer functions Forward runs, in order (rt.WithProfile times them).")
	f.Var().Id("Layers").Op("=").Index().Qual(rtPath, "Layer").Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, layers...)
	f.Comment("runner adapts Net to rt.ImageRunner without exporting RunImage.")
	f.Type().Id("runner").Id("Net")
	f.Comment("RunImage runs one image through every layer, in the planned arena a.")
	f.Func().Params(jen.Id("r").Op("*").Id("runner")).Id("RunImage").Params(jen.Id("a").Op("*").Qual(rtPath, "Arena"),
		jen.List(jen.Id("in"), jen.Id("out")).Index().Float32(), jen.Id("features").Bool()).Block(body...)

	comment(f, "Forward computes the logits of a batch: in is NCHW float32 (any number of images of\nInputChannels x InputHeight x InputWidth), out receives NumClasses logits per image.")
	f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id("Forward").Params(jen.List(jen.Id("in"), jen.Id("out")).Index().Float32()).Error().Block(
		jen.If(jen.Err().Op(":=").Id("n").Dot("runner").Dot("Run").Call(jen.Parens(jen.Op("*").Id("runner")).Parens(jen.Id("n")), jen.Id("in"), jen.Id("out"), jen.Id("inSize"), jen.Id("NumClasses"), jen.False()),
			jen.Err().Op("!=").Nil()).Block(jen.Return(wrap("Forward: %w"))),
		jen.Return(jen.Nil()),
	)
	comment(f, "Features computes the penultimate features of a batch (what the classifier head reads),\nFeatureSize values per image, for similarity search and transfer learning.")
	if e.features != nil {
		f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id("Features").Params(jen.List(jen.Id("in"), jen.Id("out")).Index().Float32()).Error().Block(
			jen.If(jen.Err().Op(":=").Id("n").Dot("runner").Dot("Run").Call(jen.Parens(jen.Op("*").Id("runner")).Parens(jen.Id("n")), jen.Id("in"), jen.Id("out"), jen.Id("inSize"), jen.Id("FeatureSize"), jen.True()),
				jen.Err().Op("!=").Nil()).Block(jen.Return(wrap("Features: %w"))),
			jen.Return(jen.Nil()),
		)
	} else {
		f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id("Features").Params(jen.List(jen.Id("in"), jen.Id("out")).Index().Float32()).Error().Block(
			jen.Return(jen.Qual("errors", "New").Call(jen.Lit(fmt.Sprintf("%s: Features: the network does not end in a linear layer", arch)))))
	}
	comment(f, "Classify resizes, crops and normalizes img as the weights expect (DefaultPreprocess unless\noverridden), runs the network and returns the k most probable classes with softmax probabilities.")
	f.Func().Params(jen.Id("n").Op("*").Id("Net")).Id("Classify").Params(jen.Id("img").Qual("image", "Image"), jen.Id("k").Int()).Params(jen.Index().Qual(rtPath, "Prediction"), jen.Error()).Block(
		jen.If(jen.Id("k").Op("<").Lit(1)).Block(jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit(arch+": Classify: k must be at least 1, got %d"), jen.Id("k")))),
		jen.Id("in").Op(":=").Make(jen.Index().Float32(), jen.Id("inSize")),
		jen.If(jen.Err().Op(":=").Id("n").Dot("pre").Dot("Image").Call(jen.Id("img"), jen.Id("in")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), wrap("Classify: %w"))),
		jen.Id("logits").Op(":=").Make(jen.Index().Float32(), jen.Id("NumClasses")),
		jen.If(jen.Err().Op(":=").Id("n").Dot("Forward").Call(jen.Id("in"), jen.Id("logits")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Qual(rtPath, "TopK").Call(jen.Id("logits"), jen.Id("k"), jen.Id("Labels")), jen.Nil()),
	)
}
