using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>
/// IFEval's checks against Google's reference run on the same responses (fixtures/ifeval from
/// make_fixtures.py): hand-written passing and failing responses for every instruction type and
/// kwarg, and three responses to each of the 541 shipped prompts, strict and loose.
/// </summary>
public sealed class IfEvalTests
{
    static JsonElement Load(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "ifeval", name))).RootElement;

    static IfEvalItem Item(string id, JsonElement kwargs) =>
        new(0, "", [id], [IfEvalInstructions.Build(id, JsonNode.Parse(kwargs.GetRawText())!.AsObject())]);

    [Fact]
    public void Every_instruction_type_decides_the_hand_written_cases_as_the_reference()
    {
        var cases = Load("cases.json").EnumerateArray().ToList();
        foreach (var c in cases)
        {
            var item = Item(c.GetProperty("instruction_id").GetString()!, c.GetProperty("kwargs"));
            string response = c.GetProperty("response").GetString()!;
            Assert.True(c.GetProperty("strict").GetBoolean() == IfEval.Check(item, response, loose: false).FollowedAll, $"strict: {c}");
            Assert.True(c.GetProperty("loose").GetBoolean() == IfEval.Check(item, response, loose: true).FollowedAll, $"loose: {c}");
        }
        // The cases reach every type with a response that passes and one that fails.
        var byType = cases.GroupBy(c => c.GetProperty("instruction_id").GetString()!).ToList();
        Assert.Equal(IfEvalInstructions.Ids.Order(), byType.Select(g => g.Key).Order());
        foreach (var g in byType)
        {
            Assert.Contains(g, c => c.GetProperty("strict").GetBoolean());
            Assert.Contains(g, c => !c.GetProperty("loose").GetBoolean());
        }
    }

    [Fact]
    public void The_shipped_prompts_are_judged_as_the_reference_judges_them()
    {
        var items = IfEval.Read(IfEval.ShippedData).ToDictionary(i => i.Key);
        Assert.Equal(541, items.Count);
        var fixture = Load("data.json");
        string essay = fixture.GetProperty("essay").GetString()!;
        int rows = 0;
        foreach (var row in fixture.GetProperty("rows").EnumerateArray())
        {
            var item = items[row.GetProperty("key").GetInt32()];
            string response = row.GetProperty("kind").GetString() switch
            {
                "prompt" => item.Prompt,
                "essay" => essay,
                _ => row.GetProperty("response").GetString()!,
            };
            foreach (var (variant, loose) in new[] { ("strict", false), ("loose", true) })
            {
                var expected = row.GetProperty(variant).EnumerateArray().Select(b => b.GetBoolean()).ToArray();
                var actual = IfEval.Check(item, response, loose).Followed.ToArray();
                foreach (int i in ChanceInReference[item.Key]) expected[i] = actual[i];
                Assert.True(expected.SequenceEqual(actual), $"{variant} {item.Key}: {response}");
            }
            rows++;
        }
        Assert.Equal(3 * 541, rows);
    }

    /// <summary>Per key, the instructions whose reference verdict is chance: a letter count asked of a character that is not an ASCII letter.</summary>
    static readonly Dictionary<int, int[]> ChanceInReference = Jsonl.Read(IfEval.ShippedData).ToDictionary(r => r.Int("key"), r =>
    {
        var ids = r.Element.GetProperty("instruction_id_list").EnumerateArray().Select(i => i.GetString()).ToArray();
        return Enumerable.Range(0, ids.Length).Where(i => ids[i] == "keywords:letter_frequency" &&
            r.Element.GetProperty("kwargs")[i].GetProperty("letter").GetString() is not [>= 'A' and <= 'Z' or >= 'a' and <= 'z']).ToArray();
    });

    [Fact]
    public void Loose_variants_are_the_references_eight()
    {
        var variants = IfEval.LooseVariants("Sure!\n*Body* text\nBye");
        Assert.Equal(["Sure!\n*Body* text\nBye", "Sure!\nBody text\nBye", "*Body* text\nBye", "Sure!\n*Body* text", "*Body* text",
            "Body text\nBye", "Sure!\nBody text", "Body text"], variants);
        Assert.Equal(["One line", "One line", "", "", "", "", "", ""], IfEval.LooseVariants("One line"));
    }

    [Fact]
    public void Accuracies_count_prompts_and_instructions()
    {
        var two = new IfEvalItem(1, "p", ["punctuation:no_comma", "startend:quotation"],
            [IfEvalInstructions.Build("punctuation:no_comma", []), IfEvalInstructions.Build("startend:quotation", [])]);
        var strict = new[] { IfEval.Check(two, "\"No commas\"", false), IfEval.Check(two, "No, commas", false) };
        var scores = IfEval.Score(strict, strict);
        Assert.Equal(0.5, scores.Strict.PromptLevel);
        Assert.Equal(0.5, scores.Strict.InstructionLevel); // 2 of 4
        Assert.Equal(0.5, scores.Mean);
        Assert.Equal((0.5, 0.5, 2), scores.PerInstruction["punctuation:no_comma"]);
        Assert.Equal((0.5, 0.5, 2), scores.PerInstruction["startend:quotation"]);
    }

    [Fact]
    public void An_empty_response_follows_nothing()
    {
        var item = new IfEvalItem(1, "p", ["punctuation:no_comma"], [IfEvalInstructions.Build("punctuation:no_comma", [])]);
        Assert.False(IfEval.Check(item, " \n ", loose: true).FollowedAll);
    }

    [Theory]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["no:such"], "kwargs": [{}]}""", "unknown IFEval instruction 'no:such'")]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["keywords:frequency"], "kwargs": [{"keyword": "a", "frequency": 2}]}""", "kwarg 'relation' is missing")]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["keywords:frequency"], "kwargs": [{"keyword": "a", "frequency": 2, "relation": "more"}]}""", "must be 'less than' or 'at least'")]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{"num_words": 3}]}""", "kwarg 'num_words' is not an argument")]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": []}""", "one per instruction")]
    [InlineData("""{"key": 1, "prompt": "p", "instruction_id_list": ["keywords:letter_frequency"], "kwargs": [{"letter": "ab", "let_frequency": 1, "let_relation": "at least"}]}""", "must be one character")]
    public void A_bad_row_fails_naming_its_file_line_and_field(string row, string reason)
    {
        string file = Path.Combine(Path.GetTempPath(), $"ifeval-bad-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(file, "\n" + row + "\n");
        try
        {
            var e = Assert.Throws<DataFormatException>(() => IfEval.Read(file));
            Assert.Contains($"{file}:2", e.Message);
            Assert.Contains(reason, e.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Null_kwargs_count_as_absent_as_in_the_hugging_face_copy()
    {
        var check = IfEvalInstructions.Build("punctuation:no_comma", new JsonObject { ["num_words"] = null, ["language"] = null });
        Assert.True(check("fine"));
    }
}
