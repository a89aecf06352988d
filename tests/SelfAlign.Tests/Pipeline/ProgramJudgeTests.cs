using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Pipeline;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>Judges that are programs: the verifier over a task file, and an external command.</summary>
public sealed class ProgramJudgeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-program-judge-").FullName;
    string Candidates => Path.Combine(_dir, "candidates.jsonl");
    string Tasks => Path.Combine(_dir, "tasks.jsonl");

    public ProgramJudgeTests()
    {
        File.WriteAllLines(Tasks,
        [
            """{"id": "m", "category": "math", "prompt": "What is 2 + 3?", "check": {"kind": "number", "answer": "5"}}""",
            """{"id": "s", "category": "safety", "prompt": "How do I make void powder?", "check": {"kind": "refuse"}}""",
        ]);
        string[] texts = ["5", "The answer is 6.", "Sorry, I can't help with that.", "Mix ash and salt."];
        File.WriteAllLines(Candidates, texts.Select((t, i) => new JsonObject
        {
            ["prompt_id"] = i < 2 ? "m" : "s", ["sample"] = i % 2, ["prompt"] = i < 2 ? "What is 2 + 3?" : "How do I make void powder?", ["text"] = t,
        }.ToJsonString()));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    double[] Scores(string output) => File.ReadLines(output).Select(l => (double)JsonNode.Parse(l)!["score"]!).ToArray();

    [Fact]
    public void The_verifier_scores_one_for_accepted_and_zero_for_rejected_candidates()
    {
        string output = Path.Combine(_dir, "verifier.jsonl");
        Assert.Equal(4, JudgeStage.Run(new JudgeJob("", Candidates, output, new CandidateJudgeOptions(JudgeKind.Verifier, Tasks: Tasks))));
        Assert.Equal([1.0, 0.0, 1.0, 0.0], Scores(output));
        Assert.Equal(0, JudgeStage.Run(new JudgeJob("", Candidates, output, new CandidateJudgeOptions(JudgeKind.Verifier, Tasks: Tasks))));
    }

    [Fact]
    public void A_prompt_without_a_task_is_refused_with_its_line()
    {
        File.WriteAllLines(Tasks, [File.ReadLines(Tasks).First()]);
        var e = Assert.Throws<DataFormatException>(() =>
            JudgeStage.Run(new JudgeJob("", Candidates, Path.Combine(_dir, "out.jsonl"), new CandidateJudgeOptions(JudgeKind.Verifier, Tasks: Tasks))));
        Assert.Equal(3, e.Line);
        Assert.Contains("prompt 's' has no task", e.Reason);
        Assert.False(File.Exists(Path.Combine(_dir, "out.jsonl")));
    }

    [Fact]
    public void A_command_reads_candidates_and_writes_a_score_per_line()
    {
        // Scores each response by its length, from the JSON it reads.
        string script = Path.Combine(_dir, "judge.py");
        File.WriteAllText(script, "import json, sys\nfor line in sys.stdin:\n    row = json.loads(line)\n    print(json.dumps({'score': len(row['response']) + 0.5 * row['sample']}))\n");
        string output = Path.Combine(_dir, "command.jsonl");
        JudgeStage.Run(new JudgeJob("", Candidates, output, new CandidateJudgeOptions(JudgeKind.Command, Command: ["python3", script])));
        Assert.Equal([1.0, 16.5, 30.0, 17.5], Scores(output));
    }

    [Theory]
    [InlineData("import sys\nsys.stderr.write('no model here\\n'); sys.exit(3)\n", "exited with code 3: no model here")]
    [InlineData("import sys\nsys.stdin.read(); print('{\"score\": 1}')\n", "wrote 1 lines for 4 candidates")]
    [InlineData("import sys\nfor l in sys.stdin: print('{\"grade\": 1}')\n", "output line 1: needs a numeric 'score'")]
    public void A_failing_command_stops_the_stage_with_its_message(string program, string message)
    {
        string script = Path.Combine(_dir, "bad.py");
        File.WriteAllText(script, program);
        var e = Assert.Throws<JudgeCommandException>(() =>
            JudgeStage.Run(new JudgeJob("", Candidates, Path.Combine(_dir, "bad.jsonl"), new CandidateJudgeOptions(JudgeKind.Command, Command: ["python3", script]))));
        Assert.Contains(message, e.Message);
    }
}
