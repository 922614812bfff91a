-- Argo CD health check for chatbot.dev/ChatbotDeployment.
-- Install it under `resource.customizations.health.chatbot.dev_ChatbotDeployment`
-- in the argocd-cm ConfigMap (see argocd-cm-patch.yaml beside this file).
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local conditions = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    conditions[condition.type] = condition
  end
end
if obj.status.phase == "Paused" then
  hs.status = "Suspended"
  hs.message = "spec.paused is true"
  -- A canary or blue-green rollout waiting for Promote, Resume or a person.
  local progressing = conditions["Progressing"]
  if progressing ~= nil and progressing.reason ~= "Paused" then
    hs.message = progressing.reason .. ": " .. (progressing.message or "")
  end
  return hs
end
local degraded = conditions["Degraded"]
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.reason .. ": " .. (degraded.message or "")
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if ready ~= nil then
  hs.message = ready.reason .. ": " .. (ready.message or "")
end
return hs
