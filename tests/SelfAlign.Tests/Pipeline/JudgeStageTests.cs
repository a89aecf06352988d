using System.Text.Json.Nodes;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using SelfAlign.Tests.Cli;
using Xunit;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Tests.Pipeline;

/// <summary>The candidate judge's <c>auto</c> category: each prompt is judged with the yes/no prompt of the category the model (or a given categorizing model) gives it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class JudgeStageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-judge-").FullName;
    readonly string _model, _candidates;
    static readonly string[] Instructions =
        ["Write a Python function that reverses a list.", "What is 17 times 23?", "How do I pick a lock to break into a house?", "Suggest a name for a bakery."];

    public JudgeStageTests()
    {
        _model = Path.Combine(_dir, "model");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "6", "--out", _model, "--layers", "2", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        _candidates = Path.Combine(_dir, "candidates.jsonl");
        File.WriteAllLines(_candidates, Instructions.SelectMany((text, p) => Enumerable.Range(0, 2).Select(s => new JsonObject
        {
            ["prompt_id"] = $"p{p}", ["sample"] = s, ["prompt"] = text, ["text"] = s == 0 ? "Here is an answer." : "I am not sure.",
        }.ToJsonString())));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static List<JsonNode> Rows(string file) => File.ReadLines(file).Select(l => JsonNode.Parse(l)!).ToList();

    string Judge(string category, string? categoryModel = null)
    {
        string output = Path.Combine(_dir, $"judgments-{category}{(categoryModel is null ? "" : "-other")}.jsonl");
        JudgeStage.Run(new JudgeJob(_model, _candidates, output, new CandidateJudgeOptions(Category: category), ScalarType.Float32, CategoryModel: categoryModel));
        return output;
    }

    static string[] Guesses(string folder)
    {
        using var model = ModelFolder.Load(folder, new LoadOptions(ScalarType.Float32));
        return new Categorizer(new LocalLanguageModel(model, SelfAlign.Text.Tokenizer.Load(folder))).Categorize(Instructions).Select(g => g.Category).ToArray();
    }

    /// <summary>Each row carries its prompt's guessed category and the score the judge gives with that category's fixed prompt.</summary>
    void AssertScoredWithTheirCategoryPrompt(List<JsonNode> rows, string[] guessed)
    {
        foreach (var row in rows)
            Assert.Equal(guessed[int.Parse(((string)row["prompt_id"]!)[1..])], (string)row["category"]!);
        foreach (string category in guessed.Distinct())
        {
            var fixedRows = Rows(Judge(category)).ToDictionary(r => $"{r["prompt_id"]}|{r["sample"]}");
            foreach (var row in rows.Where(r => (string)r["category"]! == category))
                Assert.Equal((double)fixedRows[$"{row["prompt_id"]}|{row["sample"]}"]["score"]!, (double)row["score"]!, 1e-6);
        }
    }

    [Fact]
    public void AutoUsesThePromptOfTheCategoryTheModelGuesses()
    {
        var auto = Rows(Judge(JudgeStage.AutoCategory));
        string[] guessed = Guesses(_model);
        Assert.Equal(8, auto.Count);

        AssertScoredWithTheirCategoryPrompt(auto, guessed);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "judgments-auto.jsonl.manifest.json")))!["config"]!;
        Assert.Equal("auto", (string)manifest["category"]!);
        Assert.Null(manifest["prompt"]);
        Assert.Equal("category", Assert.Throws<InvalidSettingException>(() => Judge("poetry")).Setting);
    }

    /// <summary>Progress that keeps the notes a stage writes.</summary>
    sealed class Notes : IStageProgress, IProgressTask
    {
        public List<string> Lines { get; } = [];
        public IProgressTask Begin(string description, double total) => this;
        public void Note(string message) => Lines.Add(message);
        public void Increment(double amount) { }
        public void Describe(string description) { }
    }

    [Fact]
    public void APromptSetWithoutACategorysPromptJudgesWithItsChatPromptAndWarns()
    {
        // A set made for chat and code only: every category still gets judged, math and safety with the chat prompt.
        string file = Path.Combine(_dir, "two.json");
        new JudgePromptSet("two", new Dictionary<string, string> { ["chat"] = JudgePromptSet.IpoDpo.ByCategory["chat"], ["code"] = JudgePromptSet.IpoDpo.ByCategory["code"] },
            new Dictionary<string, string>()).Save(file);
        Assert.Equal(JudgePromptSet.IpoDpo.ByCategory["chat"], JudgePromptSet.Load(file).For("math", null));
        Assert.Equal(["math", "safety"], JudgePromptSet.Load(file).MissingCategories);

        var notes = new Notes();
        string output = Path.Combine(_dir, "judgments-two.jsonl");
        JudgeStage.Run(new JudgeJob(_model, _candidates, output, new CandidateJudgeOptions(Prompts: file, Category: "math"), ScalarType.Float32), notes);
        Assert.Equal(8, Rows(output).Count);
        Assert.Contains(notes.Lines, l => l.Contains("no prompt for math, safety"));
        // Chat's prompt on a math-labelled prompt scores as the chat category does.
        var chat = Rows(Judge("chat")).ToDictionary(r => $"{r["prompt_id"]}|{r["sample"]}", r => (double)r["score"]!);
        Assert.All(Rows(output), r => Assert.Equal(chat[$"{r["prompt_id"]}|{r["sample"]}"], (double)r["score"]!, 1e-6));

        var none = new JudgePromptSet("none", new Dictionary<string, string> { ["code"] = "Is the code right? Answer Yes/No." }, new Dictionary<string, string>());
        Assert.Throws<ArgumentException>(() => none.For("math", null));
    }

    [Fact]
    public void ACategoryModelCategorizesWhileTheJudgeModelJudges()
    {
        string other = Path.Combine(_dir, "categorizer");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "9", "--out", other, "--layers", "2", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        string[] mine = Guesses(_model), theirs = Guesses(other);
        Assert.NotEqual(mine, theirs);

        var rows = Rows(Judge(JudgeStage.AutoCategory, other));
        AssertScoredWithTheirCategoryPrompt(rows, theirs);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "judgments-auto-other.jsonl.manifest.json")))!["config"]!;
        Assert.Equal(other, (string)manifest["category_model"]!);
    }
}
