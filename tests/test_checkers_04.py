"""Lesson 04 checkers are fair both ways: other correct handlers pass, plausible wrong ones and
gaming attempts fail with a message that names the mistake."""

from __future__ import annotations

import json

import httpx
import litellm
import pytest
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from course_helpers.custom_provider import GenerateLLM
from course_helpers.practice_data import answer_for
from fairness import Case, assert_counts, cases, judge


def usage_of(tokens: dict) -> dict:
    return {"prompt_tokens": tokens["prompt"], "completion_tokens": tokens["completion"],
            "total_tokens": tokens["prompt"] + tokens["completion"]}


# --- 04.1 the seed's provider, fixed -------------------------------------------------------------

class FillsModelResponseInPlace(CustomLLM):
    """LiteLLM also hands the handler an empty ``model_response`` to fill and return."""

    def completion(self, model, messages, *args, model_response=None, optional_params=None, api_base=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[0]["content"],
                                          "max_tokens": optional_params["max_tokens"]}).json()
        model_response.choices[0].message.content = data["generated_text"]
        model_response.choices[0].finish_reason = data["finish_reason"]
        model_response.usage = litellm.Usage(**usage_of(data["tokens"]))
        return model_response


class UsageObjectAndKwargs(CustomLLM):
    def completion(self, model, messages, *args, **kwargs):
        params = kwargs.get("optional_params") or {}
        reply = httpx.post(kwargs["api_base"], json={"prompt": messages[-1]["content"],
                                                     "max_tokens": params.get("max_tokens", 256)})
        data = reply.json()
        return litellm.ModelResponse(model=model, choices=[{"index": 0, "finish_reason": data["finish_reason"],
                                                            "message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage=litellm.Usage(prompt_tokens=data["tokens"]["prompt"],
                                                         completion_tokens=data["tokens"]["completion"],
                                                         total_tokens=sum(data["tokens"].values())))


class SeedAsIs(CustomLLM):
    def completion(self, model: str, messages: list, **kwargs):
        prompt = "\n".join([m["content"] for m in messages])
        response = httpx.post(kwargs["api_base"], json={"prompt": prompt, "max_tokens": kwargs.get("max_tokens", 100)})
        result = response.json()
        return {"choices": [{"message": {"content": result["generated_text"], "role": "assistant"}}]}


class OnlyDictFixed(CustomLLM):  # ModelResponse now, but max_tokens and usage as in the seed
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        result = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                            "max_tokens": kwargs.get("max_tokens", 100)}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": result["generated_text"]}}])


class HardCodedMaxTokens(CustomLLM):  # the old 04.1 hole: max_tokens fixed to the checker's one value
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"], "max_tokens": 12}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage=usage_of(data["tokens"]))


class NoUsage(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params["max_tokens"]}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}])


class CountsTokensItself(CustomLLM):  # usage invented from the text instead of the API's counts
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params["max_tokens"]}).json()
        prompt, completion = len(messages[-1]["content"].split()), len(data["generated_text"].split())
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage={"prompt_tokens": prompt, "completion_tokens": completion,
                                            "total_tokens": prompt + completion})


class GamingLiteral(CustomLLM):  # answers without asking the API
    def completion(self, model, messages, *args, optional_params=None, **kwargs):
        n = optional_params["max_tokens"]
        text = answer_for(messages[-1]["content"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": text}}],
                                     usage={"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n})


class GamingForgedUsage(CustomLLM):  # asks the API, then claims completion_tokens == max_tokens and a guessed prompt
    def completion(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        n = optional_params["max_tokens"]
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"], "max_tokens": n}).json()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": data["generated_text"]}}],
                                     usage={"prompt_tokens": 1, "completion_tokens": n, "total_tokens": 1 + n})


# --- 04.2 streaming ------------------------------------------------------------------------------

class StreamByTextChunks(CustomLLM):
    """Reads the raw text and splits lines itself (iter_text), as a learner might."""

    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "max_tokens": optional_params.get("max_tokens"), "stream": True}
        buffer = ""
        with httpx.Client(timeout=30) as client, client.stream("POST", api_base, json=body) as response:
            for piece in response.iter_text():
                buffer += piece
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    if line.strip():
                        yield self._chunk(json.loads(line))

    @staticmethod
    def _chunk(item: dict) -> GenericStreamingChunk:
        if item.get("done"):
            return GenericStreamingChunk(text="", index=0, tool_use=None, is_finished=True,
                                         finish_reason=item["finish_reason"], usage=usage_of(item["tokens"]))
        return GenericStreamingChunk(text=item["text"], index=0, tool_use=None, is_finished=False, finish_reason="",
                                     usage=None)


class SplitPlainAnswer(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        data = httpx.post(api_base, json={"prompt": messages[-1]["content"],
                                          "max_tokens": optional_params["max_tokens"]}).json()
        words = data["generated_text"].split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            yield GenericStreamingChunk(text=word if last else word + " ", index=0, tool_use=None, is_finished=last,
                                        finish_reason=data["finish_reason"] if last else "",
                                        usage=usage_of(data["tokens"]) if last else None)


class ReadsAllLinesFirst(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "max_tokens": optional_params["max_tokens"], "stream": True}
        with httpx.stream("POST", api_base, json=body) as response:
            lines = [json.loads(line) for line in response.iter_lines() if line]  # the whole answer first
        for item in lines:
            done = item.get("done", False)
            yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                        finish_reason=item["finish_reason"] if done else "",
                                        usage=usage_of(item["tokens"]) if done else None)


class StreamWithoutUsage(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "max_tokens": optional_params["max_tokens"], "stream": True}
        with httpx.stream("POST", api_base, json=body) as response:
            for line in response.iter_lines():
                if line:
                    item = json.loads(line)
                    done = item.get("done", False)
                    yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                                finish_reason=item["finish_reason"] if done else "", usage=None)


class StreamAlwaysStop(CustomLLM):  # finish_reason "stop" whatever /generate said
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "max_tokens": optional_params["max_tokens"], "stream": True}
        with httpx.stream("POST", api_base, json=body) as response:
            for line in response.iter_lines():
                if line:
                    item = json.loads(line)
                    done = item.get("done", False)
                    yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                                finish_reason="stop" if done else "",
                                                usage=usage_of(item["tokens"]) if done else None)


class StreamIgnoresMaxTokens(CustomLLM):
    def streaming(self, model, messages, *args, api_base=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "stream": True}
        with httpx.stream("POST", api_base, json=body) as response:
            for line in response.iter_lines():
                if line:
                    item = json.loads(line)
                    done = item.get("done", False)
                    yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                                finish_reason=item["finish_reason"] if done else "",
                                                usage=usage_of(item["tokens"]) if done else None)


class StreamGamingOneChunk(CustomLLM):  # a real streamed request, but everything handed on as one chunk
    def streaming(self, model, messages, *args, api_base=None, optional_params=None, **kwargs):
        body = {"prompt": messages[-1]["content"], "max_tokens": optional_params["max_tokens"], "stream": True}
        with httpx.stream("POST", api_base, json=body) as response:
            items = [json.loads(line) for line in response.iter_lines() if line]
        done = items[-1]
        yield GenericStreamingChunk(text="".join(i.get("text", "") for i in items), index=0, tool_use=None,
                                    is_finished=True, finish_reason=done["finish_reason"],
                                    usage=usage_of(done["tokens"]))


class StreamGamingNoRequest(CustomLLM):  # text from the course's answer table, never asks the API
    def streaming(self, model, messages, *args, optional_params=None, **kwargs):
        for word in answer_for(messages[-1]["content"]).split(" "):
            yield GenericStreamingChunk(text=word + " ", index=0, tool_use=None, is_finished=False, finish_reason="",
                                        usage=None)
        yield GenericStreamingChunk(text="", index=0, tool_use=None, is_finished=True, finish_reason="length",
                                    usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})


# --- 04.3 errors -----------------------------------------------------------------------------------

class RaisesLiteLLMClasses(CustomLLM):
    """Raises LiteLLM's own exception classes instead of CustomLLMError."""

    CLASSES = {400: litellm.BadRequestError, 401: litellm.AuthenticationError, 429: litellm.RateLimitError,
               503: litellm.ServiceUnavailableError}

    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException as e:
            raise litellm.Timeout(message=f"/generate: {e}", model=model, llm_provider="generate")
        if response.status_code >= 400:
            message = response.json()["error"]["message"]
            error_class = self.CLASSES.get(response.status_code, litellm.InternalServerError)
            raise error_class(message=message, model=model, llm_provider="generate")
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class RaiseForStatus(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        response.raise_for_status()
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class TimeoutUnmapped(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        if response.status_code >= 400:
            raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class EverythingIs500(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=500, message=str(e))
        if response.status_code >= 400:
            raise CustomLLMError(status_code=500, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class MessageLost(CustomLLM):  # the right status, but the API's message is not passed on
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException:
            raise CustomLLMError(status_code=408, message="timeout")
        if response.status_code >= 400:
            raise CustomLLMError(status_code=response.status_code, message="ошибка /generate")
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class BadRequestAsTemporary(CustomLLM):  # 400 judged "maybe temporary": 503, so the Router retries it
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=str(e))
        if response.status_code >= 400:
            status = 503 if response.status_code == 400 else response.status_code
            raise CustomLLMError(status_code=status, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class IgnoresTimeout(CustomLLM):  # maps everything, but the call's timeout never reaches httpx
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=30)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=str(e))
        if response.status_code >= 400:
            raise CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                        "content": response.json()["generated_text"]}}])


class GamingSwallowsErrors(CustomLLM):  # never fails: a canned answer on any error
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        try:
            response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
            text = response.json()["generated_text"]
        except Exception:
            text = "Сервис временно недоступен."
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": text}}])



class GamingRetriesInside(CustomLLM):  # hides temporary failures from the Router: retries them itself, then maps
    def completion(self, model, messages, *args, api_base=None, timeout=None, **kwargs):
        for attempt in range(3):
            try:
                response = httpx.post(api_base, json={"prompt": messages[-1]["content"]}, timeout=timeout)
            except httpx.TimeoutException as e:
                error = CustomLLMError(status_code=408, message=str(e))
                continue
            if response.status_code < 400:
                return litellm.ModelResponse(model=model, choices=[{"message": {
                    "role": "assistant", "content": response.json()["generated_text"]}}])
            error = CustomLLMError(status_code=response.status_code, message=response.json()["error"]["message"])
            if response.status_code in (400, 401):
                break
        raise error

RIGHT = {
    "04.1": [Case(FillsModelResponseInPlace, why="fills model_response in place"),
             Case(UsageObjectAndKwargs(), why="an instance, litellm.Usage, params from kwargs"),
             Case(GenerateLLM, why="the course's GenerateLLM")],
    "04.2": [Case(StreamByTextChunks, why="iter_text and own line splitting"),
             Case(GenerateLLM(), why="the course's GenerateLLM (plain function returning a generator)")],
    "04.3": [Case(RaisesLiteLLMClasses, why="raises LiteLLM classes directly"),
             Case(GenerateLLM, why="the course's GenerateLLM")],
}
WRONG = {
    "04.1": [Case(SeedAsIs, "dict", why="the seed as is"),
             Case(OnlyDictFixed, "optional_params", why="ModelResponse, but max_tokens from kwargs"),
             Case(HardCodedMaxTokens, "max_tokens=7", why="max_tokens hard-coded to 12"),
             Case(NoUsage, "нет usage", why="no usage"),
             Case(CountsTokensItself, "data['tokens']", why="usage counted from words")],
    "04.2": [Case(SplitPlainAnswer, "stream", why="plain answer cut into words"),
             Case(ReadsAllLinesFirst, "разом", why="all lines read before the first yield"),
             Case(StreamWithoutUsage, "usage", why="no usage in the last chunk"),
             Case(StreamAlwaysStop, "finish_reason", why="finish_reason always stop"),
             Case(StreamIgnoresMaxTokens, "max_tokens", why="max_tokens not sent")],
    "04.3": [Case(RaiseForStatus, "APIConnectionError", why="raise_for_status"),
             Case(TimeoutUnmapped, "Timeout", why="raw httpx timeout"),
             Case(EverythingIs500, "RateLimitError", why="every failure a 500"),
             Case(MessageLost, "текста ошибки", why="the API's message dropped"),
             Case(BadRequestAsTemporary, "400", why="400 made retryable"),
             Case(IgnoresTimeout, "timeout", why="the call's timeout not passed to httpx")],
}
GAMING = {
    "04.1": [Case(GamingLiteral, "получил 0 запросов", why="answer without asking the API"),
             Case(GamingForgedUsage, "usage", why="usage forged from max_tokens")],
    "04.2": [Case(StreamGamingOneChunk, "одним куском", why="one big chunk"),
             Case(StreamGamingNoRequest, "получил 0 запросов", why="text from the answer table")],
    "04.3": [Case(GamingSwallowsErrors, "прошёл успешно", why="canned answer on any error"),
             Case(GamingRetriesInside, "не повторяйте запрос внутри обработчика", why="retries inside the handler")],
}


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "04")


@pytest.mark.parametrize("exercise_id,kind,case", cases("right", RIGHT) + cases("wrong", WRONG)
                         + cases("gaming", GAMING))
def test_checker_is_fair(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)
