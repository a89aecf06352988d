using System.Text.Json;
using SelfAlign.Text;
using SelfAlign.Text.Jinja;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>Chat-template renderings against Python's jinja2 (fixtures from tests/fixtures/text/make_template_fixtures.py).</summary>
public class ChatTemplateTests
{
    static readonly JsonElement Fixture =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "text", "templates.json"))).RootElement;

    public static TheoryData<string> Templates => new() { "qwen3", "llama3", "chatml", "feature", "mistral-v0.1", "mixtral", "llama2", "gemma", "phi3" };

    static string Source(string name) => name switch
    {
        "qwen3" or "llama3" => TestModels.Tokenizer(name).ChatTemplate!,
        _ => Fixture.GetProperty("templates").GetProperty(name).GetString()!,
    };

    [Theory, MemberData(nameof(Templates))]
    public void Renders_like_jinja2(string name)
    {
        int count = 0;
        foreach (var row in Fixture.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("template").GetString() == name))
        {
            var special = new SpecialTokens(row.GetProperty("bos_token").GetString(), null, row.GetProperty("eos_token").GetString(), null, null, null, null, null);
            var template = new ChatTemplate(Source(name), special);
            var extra = row.GetProperty("extra").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
            bool generation = row.GetProperty("add_generation_prompt").GetBoolean();
            if (row.TryGetProperty("error", out var error))
            {
                // The template refuses the conversation (no system role, roles that do not alternate), as jinja2 did.
                var e = Assert.Throws<TemplateException>(() => template.Render(row.GetProperty("messages"), generation, extra));
                Assert.Equal($"the chat template raised an error: {error.GetString()}", e.Message);
                continue;
            }
            string actual = template.Render(row.GetProperty("messages"), generation, extra);
            Assert.True(row.GetProperty("expected").GetString() == actual,
                $"{name}/{row.GetProperty("conversation")}/gen={row.GetProperty("add_generation_prompt")}:\nexpected:\n{row.GetProperty("expected").GetString()}\nactual:\n{actual}");
            count++;
        }
        // Refusals aside, every template renders several conversations.
        Assert.True(count >= 4);
    }

    [Fact]
    public void ChatML_is_the_fallback_for_models_without_a_template()
    {
        var template = ChatTemplate.For(TestModels.Tokenizer("smollm2"));
        Assert.True(template.IsFallback);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", template.Render([new ChatMessage("user", "Hi")], addGenerationPrompt: true));
        Assert.False(ChatTemplate.For(TestModels.Tokenizer("qwen3")).IsFallback);
    }

    [Theory]
    [InlineData("{% include 'x.jinja' %}", "line 1: unsupported tag '{% include %}'")]
    [InlineData("a\n{{ x | frobnicate }}", "line 2: unsupported filter 'frobnicate'")]
    [InlineData("{{ x is shiny }}", "line 1: unsupported test 'shiny'")]
    [InlineData("{% if true %}open", "line 1: missing '{% elif %}' or '{% else %}' or '{% endif %}'")]
    [InlineData("{{ raise_exception('Only user and assistant roles are supported') }}", "the chat template raised an error: Only user and assistant roles are supported")]
    [InlineData("{{ messages[0].content.foo.bar }}", "line 1: 'foo' is undefined (reading '.bar')")]
    public void Errors_name_the_line_and_construct(string source, string message)
    {
        var e = Assert.Throws<TemplateException>(() => new ChatTemplate(source).Render([new ChatMessage("user", "Hi")]));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Values_print_like_python()
    {
        string Render(string source) => new ChatTemplate(source).Render([]);
        Assert.Equal("0.1 1e-05 1e+16 1000000000000000.0 -2.5 3.0", Render("{{ 0.1 }} {{ 0.00001 }} {{ 1e16 }} {{ 1e15 }} {{ -2.5 }} {{ 1.5 * 2 }}"));
        Assert.Equal("[1, 'a', None, True, {'k': \"it's\"}]", Render("{{ [1, 'a', none, true, {'k': \"it's\"}] }}"));
        Assert.Equal("{\n  \"a\": [\n    1,\n    2\n  ]\n}", Render("{{ {'a': [1, 2]} | tojson(indent=2) }}"));
    }
}
