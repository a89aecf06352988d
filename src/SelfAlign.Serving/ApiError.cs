using System.Net;
using System.Text.Json.Nodes;

namespace SelfAlign.Serving;

/// <summary>A request the server refuses, answered with an OpenAI-style error body and status code.</summary>
/// <param name="status">The HTTP status.</param>
/// <param name="type">OpenAI's error type (invalid_request_error, authentication_error, ...).</param>
/// <param name="message">What is wrong, for the caller.</param>
/// <param name="param">The request field at fault, if one is.</param>
/// <param name="code">A machine-readable code (model_not_found, context_length_exceeded, ...).</param>
public sealed class ApiException(HttpStatusCode status, string type, string message, string? param = null, string? code = null) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status => status;

    /// <summary>The body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public JsonObject Body => Error(Message, type, param, code);

    /// <summary>An OpenAI-style error body.</summary>
    public static JsonObject Error(string message, string type, string? param = null, string? code = null) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };

    /// <summary>A 400 naming the field.</summary>
    public static ApiException Invalid(string param, string message, string? code = null) =>
        new(HttpStatusCode.BadRequest, "invalid_request_error", message, param, code);
}
