using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>self-instruct on a random model folder: the stage loads it, claims its output, writes its manifest and stops when its rounds run out.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SelfInstructCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-self-instruct-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Runs_on_a_model_folder_and_records_its_settings()
    {
        string model = Path.Combine(_dir, "model"), output = Path.Combine(_dir, "prompts.jsonl");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        var run = CliRunner.Run("self-instruct", "--model", model, "--seed-prompts", Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"),
            "--out", output, "--count", "2", "--batch-size", "2", "--max-new-tokens", "12", "--seed", "1");
        Assert.True(run.Code == 0, run.Err);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(output + ".manifest.json"))!["config"]!;
        Assert.Equal((6, 2, 0.7, 1UL), ((int)config["seed_shots"]!, (int)config["generated_shots"]!, (double)config["max_similarity"]!, (ulong)config["seed"]!));
        Assert.Equal(0.6, (double)config["sampling"]!["Temperature"]!);
        // What it kept is a prompt file the loop reads, and no more than was asked for.
        if (File.ReadAllLines(output).Length > 0) Assert.InRange(SelfAlign.Data.PromptFile.Read(output).Count, 1, 2);
        // Its output is the command's own: a rerun resumes instead of refusing.
        var again = CliRunner.Run("self-instruct", "--model", model, "--seed-prompts", Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"),
            "--out", output, "--count", "2", "--batch-size", "2", "--max-new-tokens", "12", "--seed", "1");
        Assert.True(again.Code == 0, again.Err);
    }
}
