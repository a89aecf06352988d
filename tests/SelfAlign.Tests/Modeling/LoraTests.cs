using System.Text.Json.Nodes;
using SelfAlign;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>The adapter against its definition: a zero delta changes nothing, merging equals applying, export reloads exactly.</summary>
public sealed class LoraTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-lora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor Ids(CausalLm model, int seed = 3) =>
        torch.randint(0, model.Config.VocabSize, [2, 9], generator: new torch.Generator((ulong)seed));

    /// <summary>Gives every B matrix random values, so the adapter does something.</summary>
    static void Randomize(LoraAdapter adapter, ulong seed = 5)
    {
        using var noGrad = torch.no_grad();
        var generator = new torch.Generator(seed);
        foreach (var (_, b) in adapter.Modules.Select(m => adapter[m]))
            b.copy_(torch.randn(b.shape, generator: generator).mul_(0.05));
    }

    [Theory]
    [InlineData("llama", ScalarType.Float32)]
    [InlineData("qwen3", ScalarType.BFloat16)]
    public void FreshAdapterChangesNothing(string type, ScalarType dtype)
    {
        using var model = TestModels.Random(TestModels.Tiny(type), dtype);
        using var ids = Ids(model);
        using var before = model.Forward(ids);
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(Rank: 4, Alpha: 8), seed: 1);
        model.Adapter = adapter;
        using var after = model.Forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(before, after));
        Assert.Equal(14, adapter.Modules.Count()); // 7 projections x 2 layers
    }

    [Theory]
    [InlineData("qwen2", false, null)]
    [InlineData("qwen2", true, new[] { "q_proj", "v_proj", "down_proj" })]
    [InlineData("gemma2", false, null)]
    [InlineData("starcoder2", false, null)]
    public void MergedWeightsGiveTheAdaptedLogits(string type, bool rsLora, string[]? targets)
    {
        using var model = TestModels.Random(TestModels.Tiny(type));
        using var ids = Ids(model);
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(4, 8, 0, targets, rsLora), seed: 2);
        Randomize(adapter);
        model.Adapter = adapter;
        using var adapted = model.Forward(ids);
        model.Adapter = null;
        using var baseLogits = model.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(adapted, baseLogits) > 1e-2, "the adapter should change the logits");
        adapter.MergeInto(model);
        using var merged = model.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(adapted, merged) < 1e-4);
    }

    [Fact]
    public void A_stacked_adapter_on_the_base_equals_the_adapters_merged_in_turn()
    {
        // Iteration 1 adapts q and v (rsLoRA), iteration 2 adapts every projection with another rank.
        using var sequential = TestModels.Random(TestModels.Tiny("llama"));
        using var stackedModel = TestModels.Random(TestModels.Tiny("llama"));
        using var first = LoraAdapter.Create(sequential.Config, new LoraConfig(4, 8, 0, ["q_proj", "v_proj"], UseRsLora: true), seed: 5);
        using var second = LoraAdapter.Create(sequential.Config, new LoraConfig(2, 6, 0), seed: 6);
        Randomize(first);
        Randomize(second);
        first.MergeInto(sequential);
        second.MergeInto(sequential);
        using var stacked = AdapterStack.Stack([first, second]);
        Assert.Equal(6, stacked.Config.Rank);
        Assert.Equal(1, stacked.Config.Scale);
        string dir = Directory.CreateTempSubdirectory("selfalign-stack-").FullName;
        try
        {
            // Through the PEFT files, as a server would read it.
            PeftAdapter.Save(stacked, dir, null);
            using var reloaded = PeftAdapter.Load(dir, stackedModel.Config);
            reloaded.MergeInto(stackedModel);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        using var ids = Ids(sequential);
        using var a = sequential.Forward(ids);
        using var b = stackedModel.Forward(ids);
        Assert.True(TestModels.MaxAbsDiff(a, b) < 1e-4, $"{TestModels.MaxAbsDiff(a, b)}");
    }

    [Fact]
    public void PeftExportReloadsToIdenticalLogits()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"));
        using var ids = Ids(model);
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(4, 16, 0.05, ["q_proj", "k_proj", "o_proj", "up_proj"], UseRsLora: true), seed: 3);
        Randomize(adapter);
        model.Adapter = adapter;
        using var expected = model.Forward(ids);
        PeftAdapter.Save(adapter, _dir, "base-model");

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, PeftAdapter.ConfigFile)))!;
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal(4, (int)config["r"]!);
        Assert.Equal(16.0, (double)config["lora_alpha"]!);
        Assert.True((bool)config["use_rslora"]!);
        Assert.Equal(["q_proj", "k_proj", "o_proj", "up_proj"], config["target_modules"]!.AsArray().Select(n => (string)n!));
        using (var file = SafetensorsFile.Open(Path.Combine(_dir, PeftAdapter.WeightsFile)))
        {
            var a = file.Tensors["base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight"];
            var b = file.Tensors["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"];
            Assert.Equal([4L, 64], a.Shape);
            Assert.Equal([32L, 4], b.Shape); // 2 kv heads x head_dim 16
            Assert.Equal(ScalarType.Float32, a.DType);
            Assert.Equal(16, file.Tensors.Count);
        }

        using var reloaded = AssertReloadsExactly(model, ids, expected);
        Assert.Equal(adapter.Config.Scale, reloaded.Config.Scale);
    }

    /// <summary>Loads the adapter saved in the test folder onto <paramref name="model"/> and checks it gives <paramref name="expected"/> exactly.</summary>
    LoraAdapter AssertReloadsExactly(CausalLm model, Tensor ids, Tensor expected)
    {
        model.Adapter = null;
        var reloaded = PeftAdapter.Load(_dir, model.Config);
        model.Adapter = reloaded;
        using var actual = model.Forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(expected, actual));
        return reloaded;
    }

    [Theory]
    [InlineData("phi3", new[] { "qkv_proj", "o_proj", "gate_up_proj", "down_proj" }, "self_attn.qkv_proj", 128)] // (4 + 2 + 2) heads x 16
    [InlineData("gemma2", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" }, "mlp.gate_proj", 96)]
    [InlineData("starcoder2", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj" }, "mlp.c_fc", 96)]
    public void AdaptersTargetEachFamilysOwnProjectionsAsPeftNamesThem(string type, string[] projections, string probe, long rows)
    {
        using var model = TestModels.Random(TestModels.Tiny(type));
        using var ids = Ids(model);
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(4, 8, 0), seed: 4);
        Randomize(adapter);
        model.Adapter = adapter;
        using var expected = model.Forward(ids);
        PeftAdapter.Save(adapter, _dir, "base-model");

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, PeftAdapter.ConfigFile)))!;
        Assert.Equal(projections, config["target_modules"]!.AsArray().Select(n => (string)n!));
        using (var file = SafetensorsFile.Open(Path.Combine(_dir, PeftAdapter.WeightsFile)))
        {
            Assert.Equal([rows, 4L], file.Tensors[$"base_model.model.model.layers.0.{probe}.lora_B.weight"].Shape);
            Assert.Equal(2 * projections.Length * model.Config.NumLayers, file.Tensors.Count);
        }
        using var _ = AssertReloadsExactly(model, ids, expected);

        // A projection the family does not have is refused, not silently ignored.
        var e = Assert.Throws<InvalidSettingException>(() => LoraAdapter.Create(model.Config, new LoraConfig(TargetModules: [type == "phi3" ? "q_proj" : "qkv_proj"]), seed: 1));
        Assert.Contains(projections[0], e.Message);
    }

    [Fact]
    public void UnsupportedOrMismatchedAdaptersAreRefusedByName()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"));
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(Rank: 4), seed: 1);
        PeftAdapter.Save(adapter, _dir, null);
        var bigger = TestModels.Tiny("llama") with { HiddenSize = 32, NumHeads = 2, NumKvHeads = 1 };
        var shape = Assert.Throws<ModelFormatException>(() => PeftAdapter.Load(_dir, bigger));
        Assert.Contains(PeftAdapter.WeightsFile, shape.Message);
        Assert.Contains("q_proj", shape.Message);

        string configPath = Path.Combine(_dir, PeftAdapter.ConfigFile);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"use_dora\": false", "\"use_dora\": true"));
        var dora = Assert.Throws<ModelFormatException>(() => PeftAdapter.Load(_dir, model.Config));
        Assert.Contains("use_dora", dora.Message);
    }

    [Fact]
    public void SequenceLogProbsSumTheMarkedTokensOfTheFullForward()
    {
        using var model = TestModels.Random(TestModels.Tiny("qwen3"));
        using var ids = Ids(model);
        var marks = new bool[2, 9];
        int[][] marked = [[3, 4, 5, 8], [1, 2]];
        for (int r = 0; r < 2; r++) foreach (int i in marked[r]) marks[r, i] = true;
        using var scored = torch.tensor(marks);
        using var sums = model.SequenceLogProbs(ids, scored);
        using var logProbs = model.Forward(ids).log_softmax(-1);
        for (int r = 0; r < 2; r++)
        {
            double expected = marked[r].Sum(i => logProbs[r, i - 1, ids[r, i].item<long>()].item<float>());
            Assert.Equal(expected, sums[r].item<float>(), 4);
        }
    }

    [Fact]
    public void AdapterGradientMatchesFiniteDifferences()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"));
        using var ids = Ids(model);
        using var scored = torch.ones(2, 9, ScalarType.Bool);
        using var adapter = LoraAdapter.Create(model.Config, new LoraConfig(4, 8, 0), seed: 4);
        Randomize(adapter);
        model.Adapter = adapter;
        var (a, b) = adapter["model.layers.1.mlp.down_proj"];
        a.requires_grad_(true);
        b.requires_grad_(true);
        using var total = model.SequenceLogProbs(ids, scored).sum();
        total.backward();
        double analyticA = a.grad![1, 7].item<float>(), analyticB = b.grad![5, 2].item<float>();
        a.requires_grad_(false);
        b.requires_grad_(false);
        Assert.Equal(Numeric(model, ids, scored, a, [1, 7]), analyticA, 2);
        Assert.Equal(Numeric(model, ids, scored, b, [5, 2]), analyticB, 2);
        Assert.NotEqual(0, analyticA);
    }

    static double Numeric(CausalLm model, Tensor ids, Tensor scored, Tensor weight, long[] at)
    {
        const double h = 1e-2;
        double Eval(double delta)
        {
            using var noGrad = torch.no_grad();
            float original = weight[at[0], at[1]].item<float>();
            weight[at[0], at[1]] = original + (float)delta;
            using var sum = model.SequenceLogProbs(ids, scored).sum().to(ScalarType.Float64);
            weight[at[0], at[1]] = original;
            return sum.item<double>();
        }
        return (Eval(h) - Eval(-h)) / (2 * h);
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014), written out as the reference for the mask generator.</summary>
    static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [Fact]
    public void DropoutMasksFollowTheirDefinitionAndDropAtRateP()
    {
        const ulong Golden = 0x9E3779B97F4A7C15UL;
        var masks = new DropoutMasks(seed: 11);
        using var first = masks.Next([3, 37], 0.3, torch.CPU);   // 111 elements: the vector path and a tail
        var keep = first.data<bool>().ToArray();
        ulong stream = SplitMix(11 ^ SplitMix(1 * Golden));
        for (int i = 0; i < keep.Length; i++)
        {
            ulong quarter = SplitMix(stream + (ulong)(i / 4) * Golden) >> (16 * (i % 4)) & 0xFFFF;
            Assert.Equal(quarter >= (ulong)Math.Round(0.3 * 65536), keep[i]);
        }
        using var second = masks.Next([3, 37], 0.3, torch.CPU);
        Assert.False(second.eq(first).all().item<bool>(), "each draw is a new mask");
        using var again = new DropoutMasks(seed: 11).Next([3, 37], 0.3, torch.CPU);
        Assert.True(again.eq(first).all().item<bool>(), "same seed, same masks");

        using var large = masks.Next([1000, 1000], 0.05, torch.CPU);
        double dropped = 1 - large.to(ScalarType.Float32).mean().item<float>();
        Assert.InRange(dropped, 0.05 - 0.001, 0.05 + 0.001);   // 5 standard deviations of a binomial over 1e6
    }
}
