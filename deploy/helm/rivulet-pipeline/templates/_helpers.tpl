{{/* Chart name. */}}
{{- define "pipeline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "pipeline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pipeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "pipeline.labels" -}}
helm.sh/chart: {{ include "pipeline.chart" . }}
{{ include "pipeline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rivulet
app.kubernetes.io/component: pipeline
{{- end }}

{{/* Labels that select the pipeline's pods. */}}
{{- define "pipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pipeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pipeline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pipeline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pipeline.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "pipeline.priorityClassName" -}}
{{- if .Values.priorityClass.create }}
{{- default (include "pipeline.fullname" .) .Values.priorityClass.name }}
{{- else }}
{{- .Values.priorityClassName }}
{{- end }}
{{- end }}

{{/* The consumer group and prefix of internal topics: pipeline.applicationId, else the full name. */}}
{{- define "pipeline.applicationId" -}}
{{- default (include "pipeline.fullname" .) .Values.pipeline.applicationId }}
{{- end }}

{{/* "true" for the function form (input topics given). */}}
{{- define "pipeline.isFunction" -}}
{{- if gt (len .Values.pipeline.function.input) 0 }}true{{ end }}
{{- end }}

{{/* The ConfigMap holding the pipeline file (source configMap). */}}
{{- define "pipeline.configMapName" -}}
{{- default (printf "%s-code" (include "pipeline.fullname" .)) .Values.pipeline.configMap.existingName }}
{{- end }}

{{/* The file `rivulet run` is given. */}}
{{- define "pipeline.file" -}}
{{- if eq .Values.pipeline.source "configMap" }}/pipeline/{{ .Values.pipeline.configMap.fileName }}{{ else }}{{ .Values.pipeline.file }}{{ end }}
{{- end }}

{{/* Whole CPUs of the container: the CPU limit, else the request; millicores rounded up; 0 when unset. */}}
{{- define "pipeline.cpuCount" -}}
{{- $cpu := "" }}
{{- if and .Values.resources.limits .Values.resources.limits.cpu }}
{{- $cpu = toString .Values.resources.limits.cpu }}
{{- else if and .Values.resources.requests .Values.resources.requests.cpu }}
{{- $cpu = toString .Values.resources.requests.cpu }}
{{- end }}
{{- if eq $cpu "" }}
{{- 0 }}
{{- else if hasSuffix "m" $cpu }}
{{- div (add (trimSuffix "m" $cpu | atoi) 999) 1000 }}
{{- else }}
{{- $cpu | float64 | ceil | int }}
{{- end }}
{{- end }}

{{/* --workers: one worker thread (one group member) per whole CPU, at least 1. */}}
{{- define "pipeline.workers" -}}
{{- max 1 (include "pipeline.cpuCount" . | int) }}
{{- end }}

{{/* The client's security protocol, from kafka.tls.enabled and kafka.sasl.mechanism. */}}
{{- define "pipeline.securityProtocol" -}}
{{- if .Values.kafka.sasl.mechanism }}{{ if .Values.kafka.tls.enabled }}SASL_SSL{{ else }}SASL_PLAINTEXT{{ end }}
{{- else if .Values.kafka.tls.enabled }}SSL{{ else }}PLAINTEXT{{ end }}
{{- end }}

{{/* KEDA's name for a SASL mechanism. */}}
{{- define "pipeline.kedaSasl" -}}
{{- $m := .Values.kafka.sasl.mechanism }}
{{- if eq $m "PLAIN" }}plaintext{{ else if eq $m "SCRAM-SHA-256" }}scram_sha256{{ else if eq $m "SCRAM-SHA-512" }}scram_sha512{{ else if eq $m "OAUTHBEARER" }}oauthbearer{{ else }}none{{ end }}
{{- end }}

{{/* KEDA's minReplicaCount: the value, else 0 for the function form (scale to zero) and 1 otherwise. */}}
{{- define "pipeline.kedaMinReplicas" -}}
{{- $k := .Values.autoscaling.keda }}
{{- if kindIs "invalid" $k.minReplicaCount }}{{ if include "pipeline.isFunction" . }}0{{ else }}1{{ end }}{{ else }}{{ int $k.minReplicaCount }}{{ end }}
{{- end }}

{{/* --static-membership: the value, else true for a StatefulSet (stable pod names) and false for a Deployment. */}}
{{- define "pipeline.staticMembership" -}}
{{- if kindIs "invalid" .Values.pipeline.staticMembership }}{{ eq .Values.kind "stateful" }}{{ else }}{{ .Values.pipeline.staticMembership }}{{ end }}
{{- end }}

{{/* Checks the schema cannot express, with what to do instead. */}}
{{- define "pipeline.validate" -}}
{{- $v := .Values }}
{{- if and (eq $v.kind "stateful") $v.autoscaling.keda.enabled }}
{{- fail "autoscaling.keda.enabled works only with kind: stateless. A stateful pipeline's pods own their local state and transactional ids (one per pod name), so an autoscaler adding and removing them would restore state on every change: set autoscaling.keda.enabled=false and size replicaCount by hand, or make the pipeline stateless." }}
{{- end }}
{{- if and $v.autoscaling.keda.enabled (eq $v.kafka.sasl.mechanism "OAUTHBEARER") }}
{{- fail "autoscaling.keda.enabled with kafka.sasl.mechanism=OAUTHBEARER: KEDA's kafka scaler gets its own tokens from an OAuth token endpoint, not from the pipeline's token file. Create a ScaledObject and TriggerAuthentication yourself (see deploy/examples/keda-consumer.yaml) and set autoscaling.keda.enabled=false." }}
{{- end }}
{{- if and (eq $v.kind "stateless") (eq (toString $v.pipeline.staticMembership) "true") }}
{{- fail "pipeline.staticMembership=true needs kind: stateful. A Deployment's pods get new names, so each would join as a new static member while the old one keeps its partitions until its session times out: leave pipeline.staticMembership unset (false) for stateless pipelines." }}
{{- end }}
{{- if le (mul (int $v.terminationGracePeriodSeconds) 1000) (int $v.pipeline.shutdownTimeoutMs) }}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be longer than pipeline.shutdownTimeoutMs (%d ms): otherwise Kubernetes kills the pipeline before it has committed and left its group. Raise terminationGracePeriodSeconds to at least %d." (int $v.terminationGracePeriodSeconds) (int $v.pipeline.shutdownTimeoutMs) (add (div (int $v.pipeline.shutdownTimeoutMs) 1000) 5)) }}
{{- end }}
{{- if eq $v.pipeline.source "configMap" }}
{{- if and (not $v.pipeline.configMap.code) (not $v.pipeline.configMap.existingName) }}
{{- fail "pipeline.source=configMap needs the file: --set-file pipeline.configMap.code=<your pipeline file>, or pipeline.configMap.existingName (a ConfigMap with the file under the key pipeline.configMap.fileName)." }}
{{- end }}
{{- if and $v.pipeline.configMap.code $v.pipeline.configMap.existingName }}
{{- fail "pipeline.configMap.code and pipeline.configMap.existingName are both set: give the file one way." }}
{{- end }}
{{- end }}
{{- if and $v.pipeline.function.output (not (include "pipeline.isFunction" .)) }}
{{- fail "pipeline.function.output is set without pipeline.function.input: the function form needs the topics it reads (a DSL pipeline names its own topics; leave both empty)." }}
{{- end }}
{{- $sasl := $v.kafka.sasl }}
{{- if $sasl.mechanism }}
{{- if eq $sasl.mechanism "OAUTHBEARER" }}
{{- if not $sasl.tokenSecret.name }}
{{- fail "kafka.sasl.mechanism=OAUTHBEARER needs kafka.sasl.tokenSecret.name: a Secret holding the token (refreshed in place; the pipeline reads it at each connection)." }}
{{- end }}
{{- else }}
{{- if or (not $sasl.username) (not $sasl.passwordSecret.name) }}
{{- fail (printf "kafka.sasl.mechanism=%s needs kafka.sasl.username and kafka.sasl.passwordSecret.name (a Secret holding the password under kafka.sasl.passwordSecret.key)." $sasl.mechanism) }}
{{- end }}
{{- if and (eq $sasl.mechanism "PLAIN") (not $v.kafka.tls.enabled) }}
{{- fail "kafka.sasl.mechanism=PLAIN sends the password itself: enable kafka.tls (SASL_SSL) or use SCRAM-SHA-512." }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (not $v.kafka.tls.enabled) (or $v.kafka.tls.caSecret.name $v.kafka.tls.clientCertSecret $v.kafka.tls.serverName) }}
{{- fail "kafka.tls.caSecret, clientCertSecret and serverName take effect only with kafka.tls.enabled=true." }}
{{- end }}
{{- end }}
